"""Parse whole inputs to NDJSON, in input order, on one core or several.

The calling process only reads: it hands out blocks of whole lines as bytes. Each worker owns a Parser
(compiled once per process), decodes and parses a block and returns its NDJSON bytes and coverage,
collected in input order.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import BinaryIO

import orjson

from shipper.parse.parser import Parser
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
        out = bytearray()
        for text, tags in lines:
            doc, key = parse(text, tags or None)
            keys.append(key)
            out += dumps(doc, None, option)
        return bytes(out), Coverage(Counter(keys))

    def run_block(self, reference: date, block: bytes) -> tuple[bytes, Coverage]:
        return self.run(reference, split_block(block))


_worker: ChunkParser | None = None


def _init_worker(options: ParseOptions) -> None:
    global _worker
    _worker = ChunkParser(options)


def _run_block(job: tuple[date, bytes]) -> tuple[bytes, Coverage]:
    assert _worker is not None
    return _worker.run_block(*job)


def _blocks(
    inputs: Iterator[tuple[Path | None, BinaryIO]],
    options: ParseOptions,
    on_chunk: Callable[[Path | None, BinaryIO], None],
) -> Iterator[tuple[date, bytes]]:
    for path, stream in inputs:
        reference = options.reference or reference_date(path)
        for block in read_blocks(stream, BLOCK_BYTES):
            on_chunk(path, stream)
            yield reference, block


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def parse_inputs(
    inputs: Iterator[tuple[Path | None, BinaryIO]],
    options: ParseOptions,
    workers: int = 1,
    on_chunk: Callable[[Path | None, BinaryIO], None] = lambda path, stream: None,
) -> Iterator[tuple[bytes, Coverage]]:
    """Yield (NDJSON bytes, coverage) per chunk, in input order."""
    jobs = _blocks(inputs, options, on_chunk)
    if workers <= 1:
        local = ChunkParser(options)
        for job in jobs:
            yield local.run_block(*job)
        return
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(options,)) as pool:
        # apply_async with a bounded window, not imap: imap drains the input eagerly, so a large file
        # would sit in memory whole.
        pending: deque[AsyncResult[tuple[bytes, Coverage]]] = deque()
        for job in jobs:
            pending.append(pool.apply_async(_run_block, (job,)))
            if len(pending) >= workers * 3:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
