"""Inputs: where framed lines come from.

Two kinds, one framing (pipeline/framing.py) and one context (pipeline/context.py) behind both:

- **read to their end** (`parse`, `ingest`, `transactions`, `report`, `trace`): files named or found, plain
  or compressed, and stdin; `read_inputs` gives each input's context and its blocks;
- **followed** (`shipper run`): an `Input` that is polled for new lines. Each batch comes from an `Origin`
  (a file, a connection) that knows its identity and confirms offsets once the output acknowledged them.
  A new input (a syslog receiver, the journal) implements these two small protocols; the service, the
  pipeline and the outputs stay as they are.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from shipper.core.compression import READ_ERRORS, open_binary
from shipper.pipeline.context import InputContext
from shipper.pipeline.emit import Pipeline
from shipper.pipeline.framing import Block, Line, frame_stream


class Origin(Protocol):
    """Where a batch of lines comes from; what an acknowledgement token points back to."""

    @property
    def path(self) -> str | None:
        """A file's path (log.file.path, and the pack its name picks); None for a stream."""

    @property
    def source(self) -> str | None:
        """The pack forced for its lines."""

    @property
    def timezone(self) -> str | None:
        """The zone of its timestamps without one, when it has its own (None: the command's)."""

    @property
    def identity(self) -> bytes | None:
        """What its event ids derive from (None until known)."""

    @property
    def peer(self) -> str | None:
        """The sending host's address, for a network input (log.source.address); None for a file."""

    @property
    def generation(self) -> int:
        """Bumped when it starts over (a truncated file): older acknowledgements are void."""

    def last_write(self) -> float: ...

    def confirm(self, end: int) -> None:
        """Everything before offset `end` is acknowledged by the output."""


class StreamOrigin:
    """The part every origin that is no file shares (a syslog sender, the journal): no path, never starts
    over, its lines as recent as now. Subclasses give source, timezone, identity and confirm."""

    path: str | None = None
    generation: int = 0

    @property
    def peer(self) -> str | None:
        return None

    def last_write(self) -> float:
        return time.time()


class Input(Protocol):
    """A followed input of `shipper run`."""

    def poll(self) -> Iterable[tuple[Origin, list[Line]]]:
        """New lines, a bounded amount per origin; may also notice new origins first."""

    def is_open(self, origin: Origin) -> bool:
        """Whether more lines may come from `origin` (a closed one's last multi-line event is shipped)."""

    def lagging(self) -> bool:
        """Something is known to be unread: poll again at once rather than wait."""

    def close(self) -> None: ...


def open_inputs(
    paths: list[Path],
    on_error: Callable[[Path | None, str], None] = lambda path, message: None,
    opener: Callable[[Path], BinaryIO] = open_binary,
) -> Iterator[tuple[Path | None, BinaryIO]]:
    """(path, binary stream) for each input; stdin when there are none. A file that cannot be opened is
    reported to `on_error` and skipped."""
    if not paths:
        yield None, sys.stdin.buffer
        return
    for path in paths:
        if str(path) == "-":
            yield None, sys.stdin.buffer
            continue
        try:
            stream = opener(path)
        except OSError as exc:
            on_error(path, exc.strerror or str(exc))
            continue
        with stream:
            yield path, stream


def read_inputs(
    pipeline: Pipeline,
    inputs: Iterable[tuple[Path | None, BinaryIO]],
    on_block: Callable[[Path | None, BinaryIO], None] = lambda path, stream: None,
    on_error: Callable[[Path | None, str], None] = lambda path, message: None,
    done: str = "parsed",
) -> Iterator[tuple[InputContext, Iterator[Block]]]:
    """Each input's context and its blocks (consume them before the next input). An input that cannot be
    read to its end is reported to `on_error`; the lines before were given, and the next input follows."""
    for path, stream in inputs:
        name = os.fspath(path) if path is not None else None
        ctx = pipeline.context(path=name, last_write=_mtime(name) if name is not None else None)
        yield ctx, _blocks(pipeline, ctx, path, stream, on_block, on_error, done)


def _mtime(path: str) -> Callable[[], float]:
    return lambda: os.stat(path).st_mtime


def _blocks(
    pipeline: Pipeline, ctx: InputContext, path: Path | None, stream: BinaryIO,
    on_block: Callable[[Path | None, BinaryIO], None], on_error: Callable[[Path | None, str], None], done: str,
) -> Iterator[Block]:  # fmt: skip
    read = 0
    try:
        for block in frame_stream(stream):
            ctx.learn_identity(block)
            if ctx.undecided:
                pipeline.detect(ctx, (text for text, _ in block.texts()))
            yield block
            read = block.end
            on_block(path, stream)
    except READ_ERRORS as exc:  # keep what was read, report, go on with the next input
        on_error(path, f"unreadable after {read} bytes of data ({exc}); the lines before were {done}")
