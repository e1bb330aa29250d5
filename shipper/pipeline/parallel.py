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
import tempfile
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
# The parent's parser, warmed on the first block before the pool forks: a forked worker starts with the
# routes, regexes and generated builders that block needed instead of compiling them again (a fifth of a
# second each on a 2-core machine). A spawned worker (no fork) builds its own.
_prepared: JobParser | None = None


def _init_worker(settings: ParseSettings, shared: _Shared | None = None) -> None:
    global _worker, _shared
    _worker = _prepared if _prepared is not None else JobParser(settings)
    _shared = shared


def _warm(pipeline: Pipeline, settings: ParseSettings, job: Job) -> tuple[JobParser, bytes, Coverage]:
    """Parse the first job here, with the pipeline the workers will inherit."""
    global _prepared
    local = JobParser(settings)
    local.pipeline = pipeline
    blob, coverage = local.run(job)
    _prepared = local
    return local, blob, coverage


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
    grep); the same events `parse_inputs` writes. With `workers` > 1, that many processes parse blocks while
    this one folds what they return (a fold as light as grep's leaves this process mostly waiting on them)."""
    pipeline = Pipeline(settings)
    if workers > 1:
        yield from _parse_elsewhere(pipeline, inputs, settings, on_chunk, on_error, workers)
        return
    for ctx, blocks in read_inputs(pipeline, inputs, on_chunk, on_error):
        for block in blocks:
            yield from pipeline.parse_texts(ctx, ctx.texts(block))
        yield from pipeline.parse_texts(ctx, [(f.text, f.tags) for f in ctx.flush(force=True)])


def _parse_job(job: Job, path: str) -> str:
    """Parse a job into a file of NDJSON; its path goes back. Results sent through the pool's pipe were read
    by a thread of the folding process that had to win the GIL from the fold for every 64 KiB: a block of
    events took longer to arrive than to parse."""
    assert _worker is not None
    with open(path, "wb") as out:
        out.write(_worker.run(job)[0])
    return path


def _parse_elsewhere(
    pipeline: Pipeline,
    inputs: Iterator[tuple[Path | None, BinaryIO]],
    settings: ParseSettings,
    on_chunk: Callable[[Path | None, BinaryIO], None],
    on_error: Callable[[Path | None, str], None],
    processes: int,
) -> Iterator[dict[str, Any]]:
    """Blocks parsed by a pool, their NDJSON read back in order, through files in a private temporary
    directory (orjson reads an event back in ~1.5 us, a fifth of what parsing it costs)."""
    loads = orjson.loads
    jobs = _jobs(pipeline, inputs, on_chunk, on_error)
    first = next(jobs, None)
    if first is None:
        return
    for line in _warm(pipeline, settings, first)[1].splitlines():
        yield loads(line)

    def events(path: str) -> Iterator[dict[str, Any]]:
        with open(path, "rb") as stream:
            data = stream.read()
        os.unlink(path)
        for line in data.splitlines():
            yield loads(line)

    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    try:
        with (
            tempfile.TemporaryDirectory(prefix="shipper-", dir=_scratch()) as tmp,  # mode 0700
            ctx.Pool(processes, initializer=_init_worker, initargs=(settings,)) as pool,
        ):
            pending: deque[AsyncResult[str]] = deque()  # a bounded window, so a large file is not read whole
            for seq, job in enumerate(jobs):
                pending.append(pool.apply_async(_parse_job, (job, os.path.join(tmp, str(seq)))))
                if len(pending) > processes * 3:
                    yield from events(pending.popleft().get())
            while pending:
                yield from events(pending.popleft().get())
    finally:
        _forget_prepared()


def _scratch() -> str | None:
    """Memory-backed /dev/shm where there is one (the events of a few blocks, each deleted once read, never
    reach a disk), else the usual temporary directory."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


def _forget_prepared() -> None:
    global _prepared
    _prepared = None


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
    first = next(jobs, None)
    if first is None:
        return
    _, blob, coverage = _warm(pipeline, settings, first)
    output.write(blob)
    output.flush()
    yield coverage
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    shared = _Shared(ctx, fd)
    pool = ctx.Pool(workers, initializer=_init_worker, initargs=(settings, shared))
    _forget_prepared()  # the workers have it
    with pool:
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
