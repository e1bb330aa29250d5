"""What one input's lines are read with: its pack, its multi-line rule, its reference date and its identity.

Every command reads an input the same way:

- the pack: the one forced (`--source`, an input's `source:`), else the one whose `paths` name the file,
  else chosen per line by program name;
- multi-line events: when that pack declares them (Zimbra's stack traces), for files and streams alike;
- the reference date for year-less timestamps: the given one, else the date of the input's last write as
  of the block being read (a followed file's is today; a rotation's is the day it was rotated), else today
  for a stream. Evaluated per block, so a stream or a followed file that runs past midnight moves on;
- the identity behind event ids: a file's first line (up to IDENTITY_BYTES), stdin's the constant `-`;
- the zone of timestamps without one and the host name events are addressed with, when the input has its
  own (a per-input `timezone:`, a sender's host); otherwise the command's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from shipper.core.ids import IDENTITY_BYTES
from shipper.parse.multiline import Grouped, Grouper, group_tags
from shipper.parse.packs import Pack, multiline_specs
from shipper.parse.parser import detect_source
from shipper.pipeline.framing import Block, Line, decode, decode_line

STDIN_IDENTITY = b"-"


@dataclass(slots=True)
class Frame:
    """One event's bytes: a line, or the lines of a multi-line event joined by newlines."""

    offset: int
    end: int
    raw: bytes
    text: str
    tags: list[str]


def first_line_identity(data: bytes) -> bytes:
    return data.split(b"\n", 1)[0][:IDENTITY_BYTES]


def date_of(timestamp: float) -> date:
    return datetime.fromtimestamp(timestamp).date()


class InputContext:
    def __init__(
        self,
        *,
        packs: tuple[Pack, ...],
        path: str | None,
        source: str | None = None,
        reference: date | None = None,
        last_write: Callable[[], float] | None = None,
        identity: bytes | None = None,
        timezone: str | None = None,
        host_name: str | None = None,
        peer: str | None = None,
    ) -> None:
        self.path = path
        self.peer = peer  # a network input's sending host: log.source.address, host when the line names none
        self.file_path = os.path.abspath(path) if path is not None else None  # as Filebeat: absolute, links kept
        self.source = source  # forced for every line
        # the source whose own file this is: by the file's name now, else by its first lines (`adopt`)
        self.file_source = None if source is not None or path is None else detect_source(path, packs)
        self.undecided = source is None and self.file_source is None
        self.grouper: Grouper | None = None
        self._group_by(packs, source or self.file_source)
        self.fixed_reference = reference
        self.last_write = last_write
        self.identity = identity if identity is not None else (STDIN_IDENTITY if path is None else None)
        self.timezone = timezone  # None: the command's
        self.host_name = host_name  # None: the command's (Addresser)

    def _group_by(self, packs: tuple[Pack, ...], source: str | None) -> None:
        spec = multiline_specs(packs).get(source) if source else None
        self.grouper = Grouper(spec) if spec is not None else None

    def adopt(self, packs: tuple[Pack, ...], source: str | None) -> None:
        """What the input's first lines said it is (None: programs decide); asked once, before any line is read."""
        self.undecided = False
        if source is not None:
            self.file_source = source
            self._group_by(packs, source)

    def reference(self) -> date:
        if self.fixed_reference is not None:
            return self.fixed_reference
        if self.last_write is not None:
            try:
                return date_of(self.last_write())
            except OSError:
                pass
        return date.today()

    def learn_identity(self, block: Block) -> None:
        if self.identity is None:
            self.identity = first_line_identity(block.data)

    def frames(self, lines: Iterable[Line]) -> list[Frame]:
        """The events these lines make: one per line, or multi-line events as they complete."""
        grouper = self.grouper
        if grouper is None:
            return [Frame(line.offset, line.end, line.raw, *decode(line)) for line in lines]
        return [_grouped(g) for line in lines for g in grouper.feed(line.offset, line.end, line.raw, line.truncated)]

    def flush(self, force: bool = False) -> list[Frame]:
        """A multi-line event whose lines stopped coming (`timeout`), or at once with `force` (the input ended)."""
        if self.grouper is None:
            return []
        return [_grouped(g) for g in self.grouper.flush(force)]

    def texts(self, block: Block) -> Iterable[tuple[str, list[str]]]:
        """(text, tags) of a block's events when offsets are not needed (`shipper parse`); the same as
        `frames` gives for a block of whole events."""
        if self.grouper is None:
            return block.texts()
        return [(f.text, f.tags) for f in self.frames(block.lines())]


def _grouped(group: Grouped) -> Frame:
    tags = group_tags(group.cut, group.lines)
    return Frame(group.offset, group.end, group.raw, decode_line(group.raw, tags), tags)
