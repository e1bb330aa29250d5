"""Multiline grouping: lines that continue an event (a Java stack trace, the header block of an Exim
rejectlog entry) are joined to the line that started it.

A pack declares it (`multiline:` in its YAML): a regex that every *first* line of an event matches; a line
that does not match continues the current event. An event ends when the next one starts, when it reaches
`max_lines` or `max_bytes`, or when no line came for `timeout` seconds (the writer may still be in the
middle of it, so `shipper run` waits that long before shipping the last event of a file).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator


def _seconds(value: object) -> object:
    if isinstance(value, str) and value.endswith("s") and value[:-1].replace(".", "", 1).isdigit():
        return float(value[:-1])
    return value


class MultilineSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str  # regex a first line matches (searched from the line's start)
    max_lines: int = Field(500, ge=2)
    max_bytes: int = Field(64 * 1024, ge=1024)
    timeout: Annotated[float, BeforeValidator(_seconds), Field(gt=0)] = 2.0

    @field_validator("start")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value.encode())
        except re.error as exc:
            raise ValueError(f"not a valid regex: {exc}") from None
        return value


@dataclass(slots=True)
class Grouped:
    offset: int  # where the event's first line starts
    end: int  # where the line after its last line starts
    raw: bytes  # its lines joined by newlines
    lines: int
    cut: bool = False  # ended by max_lines / max_bytes rather than by the next event


@dataclass
class Grouper:
    spec: MultilineSpec
    pending: list[bytes] = field(default_factory=list)
    offset: int = 0
    end: int = 0
    size: int = 0
    cut: bool = False  # a line of the pending event was cut at the line limit
    last_line_at: float = 0.0

    def __post_init__(self) -> None:
        self.start = re.compile(self.spec.start.encode())

    def feed(self, offset: int, end: int, raw: bytes, truncated: bool = False) -> list[Grouped]:
        """The events this line completes (the previous one when it starts a new event); a `truncated` line
        (cut at the line limit) marks its event cut."""
        out: list[Grouped] = []
        starts = self.start.match(raw) is not None
        if self.pending and (starts or len(self.pending) >= self.spec.max_lines
                             or self.size + len(raw) + 1 > self.spec.max_bytes):  # fmt: skip
            out.append(self._emit(cut=not starts))
        if not self.pending:
            self.offset = offset
            self.size = -1
        self.pending.append(raw)
        self.cut = self.cut or truncated
        self.size += len(raw) + 1
        self.end = end
        self.last_line_at = time.monotonic()
        return out

    def flush(self, force: bool = False) -> list[Grouped]:
        """The event still open, once `timeout` passed without a new line (or at once with `force`)."""
        if self.pending and (force or time.monotonic() - self.last_line_at >= self.spec.timeout):
            return [self._emit(cut=False)]
        return []

    def _emit(self, cut: bool) -> Grouped:
        event = Grouped(self.offset, self.end, b"\n".join(self.pending), len(self.pending), cut or self.cut)
        self.pending, self.size, self.cut = [], 0, False
        return event


def group_tags(cut: bool, lines: int) -> list[str]:
    """Tags of an event of `lines` lines, `cut` when a cap (or the line limit) ended it."""
    tags = ["truncated"] if cut else []
    if lines > 1:
        tags.append("multiline")
    return tags
