"""`shipper parse` and the commands that fold events (transactions, report, trace): the pipeline's events of
inputs read to their end, in input order, on one core or several.

The calling process reads and frames (and joins multi-line events, which need the lines before them),
parses the first block itself (forked workers inherit the parser it warmed), then hands blocks to a pool.
Each worker writes a block's NDJSON to a file in a private scratch directory and returns the path and the
block's coverage; the calling process takes the files in input order and writes them out (`parse`) or reads
their events back to fold them (`report`, `transactions`, `trace`, `grep`). Results sent through the pool's
pipe instead were read by a thread of the calling process that had to win the GIL from the fold for every
64 KiB, and workers that wrote the output themselves waited for their turn rather than parse.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson

from shipper.parse.stats import Coverage
from shipper.pipeline.context import InputContext
from shipper.pipeline.emit import ParseSettings, Pipeline
from shipper.pipeline.framing import Block
from shipper.pipeline.inputs import read_inputs

if TYPE_CHECKING:
    from multiprocessing.pool import AsyncResult

    from shipper.kql.prefilter import LinePrefilter

# A job: the source whose own file its input is (by name or content; None: programs decide), the reference
# date, and either a block of whole lines (data, truncated, end) or the (text, tags) of events already
# joined from several lines.
Job = tuple[str | None, date, tuple[bytes, bool, int] | list[tuple[str, list[str]]]]


class JobParser:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def run(self, job: Job) -> tuple[bytes, Coverage]:
        file_source, reference, payload = job
        pipeline = self.pipeline
        ctx = pipeline.context(path=None)
        ctx.adopt(pipeline.packs, file_source)
        ctx.fixed_reference = reference
        prefilter = pipeline.settings.prefilter
        if isinstance(payload, tuple):
            data, truncated, end = payload
            texts: Iterable[tuple[str, list[str]]] = block_texts(Block(0, data, truncated, end), prefilter)
        else:
            texts = admitted(payload, prefilter)
        pipeline.coverage = coverage = Coverage()
        dumps, option = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        blob = b"".join([dumps(doc, None, option) for doc in pipeline.parse_texts(ctx, texts)])
        return blob, coverage


_worker: JobParser | None = None
# The parent's parser, warmed on the first block before the pool forks: a forked worker starts with the
# routes, regexes and generated builders that block needed instead of compiling them again (a fifth of a
# second each on a 2-core machine). A spawned worker (no fork) builds its own.
_prepared: JobParser | None = None


def _init_worker(settings: ParseSettings) -> None:
    global _worker
    _worker = _prepared if _prepared is not None else JobParser(Pipeline(settings))


def _warm(pipeline: Pipeline, job: Job) -> tuple[JobParser, bytes, Coverage]:
    """Parse the first job here, with the pipeline the workers will inherit."""
    global _prepared
    local = JobParser(pipeline)
    blob, coverage = local.run(job)
    _prepared = local
    return local, blob, coverage


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
        loads = orjson.loads  # ~1.5 us an event: a fifth of what parsing it costs
        for blob, _ in _pooled(pipeline, _jobs(pipeline, inputs, on_chunk, on_error), settings, workers):
            for line in blob.splitlines():
                yield loads(line)
        return
    prefilter = settings.prefilter
    for ctx, blocks in read_inputs(pipeline, inputs, on_chunk, on_error):
        for block in blocks:
            texts = block_texts(block, prefilter) if ctx.grouper is None else admitted(ctx.texts(block), prefilter)
            yield from pipeline.parse_texts(ctx, texts)
        yield from pipeline.parse_texts(ctx, admitted([(f.text, f.tags) for f in ctx.flush(force=True)], prefilter))


def block_texts(block: Block, prefilter: LinePrefilter | None) -> Iterable[tuple[str, list[str]]]:
    """(text, tags) of a block's lines, only those that may pass a prefilter: an ASCII block is searched
    whole and only those lines decoded, any other line by line."""
    if prefilter is None:
        return block.texts()
    spans = None if block.truncated else prefilter.spans(block.data)
    if spans is None:
        return admitted(block.texts(), prefilter)
    return block.texts_at(spans)


def admitted(
    texts: Iterable[tuple[str, list[str]]], prefilter: LinePrefilter | None
) -> Iterable[tuple[str, list[str]]]:
    if prefilter is None:
        return texts
    return [(text, tags) for text, tags in texts if prefilter.admits(text)]


def _parse_job(job: Job, path: str) -> tuple[str | bytes, Coverage]:
    """Parse a job into a file of NDJSON; its path and coverage go back (the NDJSON itself when the file
    cannot be written: a full scratch directory slows the command down, it does not stop it)."""
    assert _worker is not None
    blob, coverage = _worker.run(job)
    try:
        with open(path, "wb") as out:
            out.write(blob)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(path)
        return blob, coverage
    return path, coverage


def _pooled(
    pipeline: Pipeline, jobs: Iterator[Job], settings: ParseSettings, processes: int
) -> Iterator[tuple[bytes, Coverage]]:
    """Each job's NDJSON and coverage, in order: the first parsed here, the rest by a pool."""
    first = next(jobs, None)
    if first is None:
        return
    local, blob, coverage = _warm(pipeline, first)
    yield blob, coverage
    try:
        scratch = tempfile.TemporaryDirectory(prefix="shipper-", dir=_scratch())  # mode 0700
    except OSError:  # nowhere to put a block's events: parse the rest here
        _forget_prepared()
        yield from map(local.run, jobs)
        return
    import multiprocessing  # here: most runs parse in one process

    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    try:
        with scratch as tmp, ctx.Pool(processes, initializer=_init_worker, initargs=(settings,)) as pool:
            _forget_prepared()  # the workers have it
            # apply_async with a bounded window, not imap: imap drains the input eagerly, so a large file
            # would sit in memory whole.
            pending: deque[AsyncResult[tuple[str | bytes, Coverage]]] = deque()
            for seq, job in enumerate(jobs):
                pending.append(pool.apply_async(_parse_job, (job, os.path.join(tmp, str(seq)))))
                if len(pending) > processes * 3:
                    yield _collect(pending.popleft().get())
            while pending:
                yield _collect(pending.popleft().get())
    finally:
        _forget_prepared()


def _collect(result: tuple[str | bytes, Coverage]) -> tuple[bytes, Coverage]:
    where, coverage = result
    if isinstance(where, bytes):
        return where, coverage
    with open(where, "rb") as stream:
        blob = stream.read()
    os.unlink(where)
    return blob, coverage


def _scratch() -> str | None:
    """Memory-backed /dev/shm where there is one with room to spare (the events of a few blocks, each deleted
    once read, never reach a disk; a container's is often 64 MiB), else the usual temporary directory."""
    shm = "/dev/shm"
    try:
        room = os.statvfs(shm)
    except OSError:
        return None
    spare = room.f_bavail * room.f_frsize >= 256 * 2**20
    return shm if spare and os.access(shm, os.W_OK | os.X_OK) else None


def _forget_prepared() -> None:
    global _prepared
    _prepared = None


def pool_size(requested: int, paths: list[Path]) -> int:
    """Parser processes: `requested`, or with 0 one per core once the files are large enough to repay
    starting a pool (8 MiB, ~50,000 lines); a stream is parsed in this process."""
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
    if workers <= 1:
        local = JobParser(pipeline)
        for job in jobs:
            blob, coverage = local.run(job)
            output.write(blob)
            if flush_each:
                output.flush()
            yield coverage
        return
    for blob, coverage in _pooled(pipeline, jobs, settings, workers):
        output.write(blob)
        yield coverage
