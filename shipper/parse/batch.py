"""Parse whole inputs to NDJSON, in input order, on one core or several.

The calling process only reads: it hands out blocks of whole lines as bytes. Each worker owns a Parser
(compiled once per process), decodes and parses a block, writes its NDJSON to the output when all
earlier blocks are written, and returns the block's coverage.
"""

from __future__ import annotations

import lzma
import multiprocessing
import os
import select
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from shipper.parse.multiline import MultilineSpec, event_boundary, group_block
from shipper.parse.packs import load_packs, multiline_specs
from shipper.parse.parser import Parser, detect_source
from shipper.parse.reader import read_blocks, reference_date, split_block
from shipper.parse.stats import Coverage

BLOCK_BYTES = 256 * 1024  # about 2000 Postfix lines


@dataclass(frozen=True)
class ParseOptions:
    timezone: str | None = None
    source: str | None = None
    reference: date | None = None  # None: each file's mtime, today for stdin


class ChunkParser:
    def __init__(self, options: ParseOptions) -> None:
        self.parser = Parser(timezone=options.timezone, source=options.source)

    def run(self, reference: date, lines: Iterable[tuple[str, list[str]]]) -> tuple[bytes, Coverage]:
        self.parser.set_reference(reference)
        keys: list[tuple[str, str | None]] = []
        parse = self.parser.parse_doc
        dumps, option = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        out: list[bytes] = []
        for text, tags in lines:
            doc, key = parse(text, tags or None)
            keys.append(key)
            out.append(dumps(doc, None, option))
        return b"".join(out), Coverage(Counter(keys))

    def run_block(self, reference: date, source: str | None, block: bytes, spec: MultilineSpec | None = None
                  ) -> tuple[bytes, Coverage]:  # fmt: skip
        """Parse a block of whole lines, or of whole entries of a multi-line pack (`spec`): one event each."""
        self.parser.set_path_source(source)
        return self.run(reference, split_block(block) if spec is None else group_block(block, spec))


class _Shared:
    """What parser processes share: the output descriptor and whose turn it is to write."""

    def __init__(self, ctx: Any, fd: int) -> None:
        self.fd = fd
        self.turn = ctx.Value("q", 0, lock=False)
        self.abort = ctx.Value("b", 0, lock=False)
        self.cond = ctx.Condition()


_worker: ChunkParser | None = None
_shared: _Shared | None = None


def _init_worker(options: ParseOptions, shared: _Shared) -> None:
    global _worker, _shared
    _worker = ChunkParser(options)
    _shared = shared


def _run_block(job: tuple[int, date, str | None, bytes, MultilineSpec | None]) -> Coverage:
    """Parse block `seq`, then write it once every earlier block is written: workers write the output
    themselves, in order, so hundreds of megabytes of NDJSON do not travel back through the parent."""
    assert _worker is not None and _shared is not None
    seq, *block_job = job
    blob, coverage = _worker.run_block(*block_job)
    shared = _shared
    with shared.cond:
        while shared.turn.value != seq:
            if shared.abort.value:
                raise RuntimeError("parsing aborted")
            shared.cond.wait(1.0)
        try:
            _write_all(shared.fd, blob)
        finally:
            shared.turn.value = seq + 1
            shared.cond.notify_all()
    return coverage


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:  # stdout may have been left non-blocking by whoever shares it
            select.select([], [fd], [])


# What reading a damaged input raises: truncated or corrupt compressed data, or an I/O error.
READ_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError)


def _blocks(
    inputs: Iterator[tuple[Path | None, BinaryIO]],
    options: ParseOptions,
    on_chunk: Callable[[Path | None, BinaryIO], None],
    on_error: Callable[[Path | None, str], None],
) -> Iterator[tuple[date, str | None, bytes, MultilineSpec | None]]:
    packs = load_packs()
    multiline = multiline_specs(packs)
    for path, stream in inputs:
        reference = options.reference or reference_date(path)
        source = None if options.source or path is None else detect_source(path, packs)
        spec = multiline.get(options.source or source or "") if path is not None else None
        read = 0
        held = b""  # an event that may go on in the next block (multi-line packs only)
        try:
            for _offset, block in read_blocks(stream, BLOCK_BYTES):
                on_chunk(path, stream)
                read += len(block)
                if path is None and options.reference is None:
                    reference = reference_date(None)  # a stream may run for days: today, again per block
                if spec is not None:
                    block = held + block
                    cut = event_boundary(block, spec)
                    if cut == 0 and len(block) < spec.max_bytes:
                        held = block
                        continue
                    block, held = (block[:cut], block[cut:]) if cut else (block, b"")
                yield reference, source, block, spec
        except READ_ERRORS as exc:  # keep what was read, report, go on with the next input
            on_error(path, f"unreadable after {read} bytes of data ({exc}); the lines before were parsed")
        if held:
            yield reference, source, held, spec


def parse_events(
    inputs: Iterator[tuple[Path | None, BinaryIO]],
    options: ParseOptions,
    on_chunk: Callable[[Path | None, BinaryIO], None] = lambda path, stream: None,
    on_error: Callable[[Path | None, str], None] = lambda path, message: None,
) -> Iterator[dict[str, Any]]:
    """The events of the inputs, in order, in this process (for the commands that fold them: transactions,
    report, trace); the same events `parse_inputs` writes."""
    parser = Parser(timezone=options.timezone, source=options.source)
    for reference, source, block, spec in _blocks(inputs, options, on_chunk, on_error):
        parser.set_reference(reference)
        parser.set_path_source(source)
        for text, tags in split_block(block) if spec is None else group_block(block, spec):
            yield parser.parse_doc(text, tags or None)[0]


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def parse_inputs(
    inputs: Iterator[tuple[Path | None, BinaryIO]],
    options: ParseOptions,
    output: BinaryIO,
    workers: int = 1,
    on_chunk: Callable[[Path | None, BinaryIO], None] = lambda path, stream: None,
    flush_each: bool = False,
    on_error: Callable[[Path | None, str], None] = lambda path, message: None,
) -> Iterator[Coverage]:
    """Parse every input line to NDJSON on `output`, in input order; yield the coverage of each block.
    An input that cannot be read to its end is reported to `on_error` and the others are still parsed."""
    jobs = _blocks(inputs, options, on_chunk, on_error)
    try:
        fd = output.fileno()
    except (AttributeError, OSError, ValueError):
        workers = 1  # parallel workers write to a file descriptor
    if workers <= 1:
        local = ChunkParser(options)
        for job in jobs:
            blob, coverage = local.run_block(*job)
            output.write(blob)
            if flush_each:
                output.flush()
            yield coverage
        return
    output.flush()
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    shared = _Shared(ctx, fd)
    with ctx.Pool(workers, initializer=_init_worker, initargs=(options, shared)) as pool:
        # apply_async with a bounded window, not imap: imap drains the input eagerly, so a large file
        # would sit in memory whole.
        pending: deque[AsyncResult[Coverage]] = deque()
        try:
            for seq, block_job in enumerate(jobs):
                pending.append(pool.apply_async(_run_block, ((seq, *block_job),)))
                if len(pending) >= workers * 3:
                    yield pending.popleft().get()
            while pending:
                yield pending.popleft().get()
        except BaseException:
            shared.abort.value = 1
            raise
