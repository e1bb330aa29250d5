"""`shipper parse` and the commands that fold events (transactions, report, trace): the pipeline's events of
inputs read to their end, in input order, on one core or several.

The calling process reads and frames (and joins multi-line events, which need the lines before them);
each worker owns a Pipeline (its parsers compiled once per process), parses a job's lines, writes its
NDJSON to the output when all earlier jobs are written, and returns the job's coverage.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import select
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from shipper.parse.stats import Coverage
from shipper.pipeline.context import InputContext
from shipper.pipeline.emit import ParseSettings, Pipeline
from shipper.pipeline.framing import Block
from shipper.pipeline.inputs import read_inputs

# A job: the source whose own file its input is (by name or content; None: programs decide), the reference
# date, and either a block of whole lines (data, truncated, end) or the (text, tags) of events already
# joined from several lines.
Job = tuple[str | None, date, tuple[bytes, bool, int] | list[tuple[str, list[str]]]]


class JobParser:
    def __init__(self, settings: ParseSettings) -> None:
        self.pipeline = Pipeline(settings)

    def run(self, job: Job) -> tuple[bytes, Coverage]:
        file_source, reference, payload = job
        pipeline = self.pipeline
        ctx = pipeline.context(path=None)
        ctx.adopt(pipeline.packs, file_source)
        ctx.fixed_reference = reference
        if isinstance(payload, tuple):
            data, truncated, end = payload
            texts: Iterable[tuple[str, list[str]]] = Block(0, data, truncated, end).texts()
        else:
            texts = payload
        pipeline.coverage = coverage = Coverage()
        dumps, option = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        blob = b"".join([dumps(doc, None, option) for doc in pipeline.parse_texts(ctx, texts)])
        return blob, coverage


class _Shared:
    """What parser processes share: the output descriptor and whose turn it is to write."""

    def __init__(self, ctx: Any, fd: int) -> None:
        self.fd = fd
        self.turn = ctx.Value("q", 0, lock=False)
        self.abort = ctx.Value("b", 0, lock=False)
        self.cond = ctx.Condition()


_worker: JobParser | None = None
_shared: _Shared | None = None


def _init_worker(settings: ParseSettings, shared: _Shared) -> None:
    global _worker, _shared
    _worker = JobParser(settings)
    _shared = shared


def _run_job(numbered: tuple[int, Job]) -> Coverage:
    """Parse block `seq`, then write it once every earlier block is written: workers write the output
    themselves, in order, so hundreds of megabytes of NDJSON do not travel back through the parent."""
    assert _worker is not None and _shared is not None
    seq, job = numbered
    blob, coverage = _worker.run(job)
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


def _jobs(
    pipeline: Pipeline,
    inputs: Iterator[tuple[Path | None, BinaryIO]],
    on_chunk: Callable[[Path | None, BinaryIO], None],
    on_error: Callable[[Path | None, str], None],
) -> Iterator[Job]:
    for ctx, blocks in read_inputs(pipeline, inputs, on_chunk, on_error):
        for block in blocks:
            yield _job(ctx, block)
        if ctx.grouper is not None:
            yield ctx.file_source, ctx.reference(), [(f.text, f.tags) for f in ctx.flush(force=True)]


def _job(ctx: InputContext, block: Block) -> Job:
    if ctx.grouper is None:
        return ctx.file_source, ctx.reference(), (block.data, block.truncated, block.end)
    return ctx.file_source, ctx.reference(), [(f.text, f.tags) for f in ctx.frames(block.lines())]


def parse_events(
    inputs: Iterator[tuple[Path | None, BinaryIO]],
    settings: ParseSettings,
    on_chunk: Callable[[Path | None, BinaryIO], None] = lambda path, stream: None,
    on_error: Callable[[Path | None, str], None] = lambda path, message: None,
    workers: int = 1,
) -> Iterator[dict[str, Any]]:
    """The events of the inputs, in order (for the commands that fold them: transactions, report, trace,
    grep); the same events `parse_inputs` writes. With `workers` > 1, `workers - 1` processes parse blocks
    while this one folds what they return: the fold is the slower half, so one more parser would only wait."""
    pipeline = Pipeline(settings)
    if workers > 1:
        yield from _parse_elsewhere(pipeline, inputs, settings, on_chunk, on_error, workers - 1)
        return
    for ctx, blocks in read_inputs(pipeline, inputs, on_chunk, on_error):
        for block in blocks:
            yield from pipeline.parse_texts(ctx, ctx.texts(block))
        yield from pipeline.parse_texts(ctx, [(f.text, f.tags) for f in ctx.flush(force=True)])


def _init_parser(settings: ParseSettings) -> None:
    global _worker
    _worker = JobParser(settings)


def _parse_job(job: Job) -> bytes:
    assert _worker is not None
    return _worker.run(job)[0]


def _parse_elsewhere(
    pipeline: Pipeline,
    inputs: Iterator[tuple[Path | None, BinaryIO]],
    settings: ParseSettings,
    on_chunk: Callable[[Path | None, BinaryIO], None],
    on_error: Callable[[Path | None, str], None],
    processes: int,
) -> Iterator[dict[str, Any]]:
    """Blocks parsed by a pool, their NDJSON read back in order: a block's lines cross the process boundary
    once each way as bytes (orjson reads an event back in ~1.5 us, a tenth of what parsing it costs)."""
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    loads = orjson.loads
    with ctx.Pool(processes, initializer=_init_parser, initargs=(settings,)) as pool:
        pending: deque[AsyncResult[bytes]] = deque()  # a bounded window, so a large file is not read whole
        for job in _jobs(pipeline, inputs, on_chunk, on_error):
            pending.append(pool.apply_async(_parse_job, (job,)))
            if len(pending) > processes * 3:
                for line in pending.popleft().get().splitlines():
                    yield loads(line)
        while pending:
            for line in pending.popleft().get().splitlines():
                yield loads(line)


def fold_workers(requested: int, paths: list[Path]) -> int:
    """Processes for a folding command: `requested`, or with 0 one per core once the files are large enough
    to repay starting a pool (8 MiB, ~50,000 lines); a stream is parsed in this process."""
    if requested:
        return requested
    if not paths or any(str(p) == "-" for p in paths):
        return 1
    total = 0
    for path in paths:
        with contextlib.suppress(OSError):  # an unreadable input is reported when it is opened
            total += path.stat().st_size
    return default_workers() if total >= 8 * 2**20 else 1


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def parse_inputs(
    inputs: Iterator[tuple[Path | None, BinaryIO]],
    settings: ParseSettings,
    output: BinaryIO,
    workers: int = 1,
    on_chunk: Callable[[Path | None, BinaryIO], None] = lambda path, stream: None,
    flush_each: bool = False,
    on_error: Callable[[Path | None, str], None] = lambda path, message: None,
) -> Iterator[Coverage]:
    """Parse every input line to NDJSON on `output`, in input order; yield the coverage of each block.
    An input that cannot be read to its end is reported to `on_error` and the others are still parsed."""
    pipeline = Pipeline(settings)
    jobs = _jobs(pipeline, inputs, on_chunk, on_error)
    try:
        fd = output.fileno()
    except (AttributeError, OSError, ValueError):
        workers = 1  # parallel workers write to a file descriptor
    if workers <= 1:
        local = JobParser(settings)
        local.pipeline = pipeline
        for job in jobs:
            blob, coverage = local.run(job)
            output.write(blob)
            if flush_each:
                output.flush()
            yield coverage
        return
    output.flush()
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    shared = _Shared(ctx, fd)
    with ctx.Pool(workers, initializer=_init_worker, initargs=(settings, shared)) as pool:
        # apply_async with a bounded window, not imap: imap drains the input eagerly, so a large file
        # would sit in memory whole.
        pending: deque[AsyncResult[Coverage]] = deque()
        try:
            for seq, job in enumerate(jobs):
                pending.append(pool.apply_async(_run_job, ((seq, job),)))
                if len(pending) >= workers * 3:
                    yield pending.popleft().get()
            while pending:
                yield pending.popleft().get()
        except BaseException:
            shared.abort.value = 1
            raise
