"""Parse whole inputs to NDJSON, in input order, on one core or several.

Lines are read and decoded in the calling process and handed out in chunks; each worker owns a Parser
(compiled once per process) and returns the chunk's NDJSON bytes and coverage, collected in order.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from itertools import islice
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import BinaryIO

from shipper.parse.event import to_ndjson
from shipper.parse.parser import Parser
from shipper.parse.reader import read_lines, reference_date
from shipper.parse.stats import Coverage

CHUNK_LINES = 2000


@dataclass(frozen=True)
class ParseOptions:
    timezone: str | None = None
    source: str | None = None
    reference: date | None = None  # None: each file's mtime, today for stdin


class ChunkParser:
    def __init__(self, options: ParseOptions) -> None:
        self.parser = Parser(timezone=options.timezone, source=options.source)

    def run(self, reference: date, lines: list[tuple[str, list[str]]]) -> tuple[bytes, Coverage]:
        self.parser.set_reference(reference)
        coverage = Coverage()
        parse = self.parser.parse
        out = bytearray()
        for text, tags in lines:
            parsed = parse(text, tags or None)
            coverage.add(parsed.dataset, parsed.rule)
            out += to_ndjson(parsed.fields)
        return bytes(out), coverage


_worker: ChunkParser | None = None


def _init_worker(options: ParseOptions) -> None:
    global _worker
    _worker = ChunkParser(options)


def _run_chunk(job: tuple[date, list[tuple[str, list[str]]]]) -> tuple[bytes, Coverage]:
    assert _worker is not None
    return _worker.run(*job)


def _chunks(
    inputs: Iterator[tuple[Path | None, BinaryIO]],
    options: ParseOptions,
    on_chunk: Callable[[Path | None, BinaryIO], None],
) -> Iterator[tuple[date, list[tuple[str, list[str]]]]]:
    for path, stream in inputs:
        reference = options.reference or reference_date(path)
        lines = read_lines(stream)
        while chunk := list(islice(lines, CHUNK_LINES)):
            on_chunk(path, stream)
            yield reference, chunk


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def parse_inputs(
    inputs: Iterator[tuple[Path | None, BinaryIO]],
    options: ParseOptions,
    workers: int = 1,
    on_chunk: Callable[[Path | None, BinaryIO], None] = lambda path, stream: None,
) -> Iterator[tuple[bytes, Coverage]]:
    """Yield (NDJSON bytes, coverage) per chunk, in input order."""
    jobs = _chunks(inputs, options, on_chunk)
    if workers <= 1:
        local = ChunkParser(options)
        for job in jobs:
            yield local.run(*job)
        return
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(options,)) as pool:
        # apply_async with a bounded window, not imap: imap drains the input eagerly, so a large file
        # would sit in memory whole.
        pending: deque[AsyncResult[tuple[bytes, Coverage]]] = deque()
        for job in jobs:
            pending.append(pool.apply_async(_run_chunk, (job,)))
            if len(pending) >= workers * 3:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
