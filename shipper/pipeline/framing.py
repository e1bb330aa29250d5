"""From bytes to lines, the same way for every input: files read to their end, stdin, compressed rotations,
followed files and network streams.

A `Framer` is fed the bytes of one input as they come and hands back `Block`s of whole lines, each with
the input offset of its first byte. A line longer than MAX_LINE_BYTES is cut there and tagged
`truncated`; the rest of it, up to its newline, is skipped and never held in memory, and the offsets of
the lines after it stay true. A last line without newline is held until more bytes come, or until the
owner says the input ended (`finish`).

Decoding (`decode_line`) strips the newline and one CR before it, replaces invalid UTF-8 (tag
`invalid_utf8`) and NUL bytes (tag `nul_bytes`) by U+FFFD.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

MAX_LINE_BYTES = 64 * 1024
READ_BYTES = 256 * 1024  # about 2000 Postfix lines


@dataclass(slots=True)
class Line:
    offset: int  # where the line starts in its input
    end: int  # where the next line starts: what a registry may advance to once this line is acknowledged
    raw: bytes  # without the newline; at most MAX_LINE_BYTES
    truncated: bool = False
    tags: tuple[str, ...] = ()  # what its input noticed besides (a syslog frame's `malformed_frame`)


@dataclass(slots=True)
class Block:
    """Whole lines of one input. `data` holds them with their newlines (the last one may lack it when the
    input ended there); a line of `data` longer than MAX_LINE_BYTES is cut when read. A `truncated` block is
    one line already cut, whose skipped rest ends at `end`."""

    base: int
    data: bytes
    truncated: bool = False
    end: int = -1

    def __post_init__(self) -> None:
        if self.end < 0:
            self.end = self.base + len(self.data)

    def lines(self) -> list[Line]:
        if self.truncated:
            return [Line(self.base, self.end, self.data, True)]
        out: list[Line] = []
        position, data, base = 0, self.data, self.base
        size = len(data)
        while position < size:
            newline = data.find(b"\n", position)
            stop = size if newline == -1 else newline
            raw = data[position:stop]
            end = base + (size if newline == -1 else newline + 1)
            if len(raw) > MAX_LINE_BYTES:
                out.append(Line(base + position, end, raw[:MAX_LINE_BYTES], True))
            else:
                out.append(Line(base + position, end, raw))
            position = stop + 1
        return out

    def texts(self) -> list[tuple[str, list[str]]] | Iterator[tuple[str, list[str]]]:
        """(text, tags) of each line, as `decode_line` gives them; a clean block (valid UTF-8, no NUL, no bare
        CR, no over-long line) is decoded and split in one pass."""
        if self.truncated:
            return [_decoded(self.data, True)]
        block = self.data
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            return self._slow()
        if "\x00" in text:
            return self._slow()
        if "\r" in text:
            text = text.replace("\r\n", "\n")
            if "\r" in text:
                return self._slow()
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        longest = max(map(len, lines), default=0) if len(block) > MAX_LINE_BYTES else 0
        if longest * 4 > MAX_LINE_BYTES and any(len(line.encode("utf-8")) > MAX_LINE_BYTES for line in lines):
            return self._slow()
        no_tags: list[str] = []
        return [(line, no_tags) for line in lines]

    def texts_at(self, spans: Iterable[tuple[int, int]]) -> list[tuple[str, list[str]]]:
        """(text, tags) of the lines of `data` at these (start, end without newline) spans, as `lines` cuts
        and `decode_line` decodes them: the same as `texts` gives for those lines."""
        out: list[tuple[str, list[str]]] = []
        data = self.data
        for start, end in spans:
            raw = data[start:end]
            out.append(_decoded(raw[:MAX_LINE_BYTES], True) if len(raw) > MAX_LINE_BYTES else _decoded(raw, False))
        return out

    def _slow(self) -> Iterator[tuple[str, list[str]]]:
        for line in self.lines():
            yield _decoded(line.raw, line.truncated)


def _decoded(raw: bytes, truncated: bool) -> tuple[str, list[str]]:
    tags = ["truncated"] if truncated else []
    return decode_line(trim_partial_char(raw) if truncated else raw, tags), tags


def decode_line(raw: bytes, tags: list[str]) -> str:
    """The text of a line (or of a multi-line event's lines joined by newlines); tags what was replaced."""
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        tags.append("invalid_utf8")
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
        tags.append("nul_bytes")
    return text


def decode(line: Line) -> tuple[str, list[str]]:
    text, tags = _decoded(line.raw, line.truncated)
    if line.tags:
        tags = [*tags, *(t for t in line.tags if t not in tags)]
    return text, tags


def trim_partial_char(raw: bytes) -> bytes:
    """Cutting at a byte limit may split a UTF-8 character; drop that partial tail rather than mangle it."""
    i, continuation = len(raw) - 1, 0
    while i >= 0 and continuation < 3 and raw[i] & 0xC0 == 0x80:
        i -= 1
        continuation += 1
    if i < 0:
        return raw
    lead = raw[i]
    needed = 4 if lead >= 0xF0 else 3 if lead >= 0xE0 else 2 if lead >= 0xC0 else 1
    return raw[:i] if needed > continuation + 1 else raw


class Framer:
    """Incremental framing of one input (see the module doc).

    A line over MAX_LINE_BYTES is kept as its first MAX_LINE_BYTES (`cut`) while the rest is skipped, and
    handed over once its newline comes, so its `end` is where the next line starts: an acknowledgement of it
    moves a registry past all of it."""

    def __init__(self, offset: int = 0) -> None:
        self.offset = offset  # input offset of `pending[0]`, or of the next byte of a line being skipped
        self.pending = b""  # an incomplete last line
        self.cut: bytes | None = None  # the kept head of an over-long line whose newline has not come yet
        self.cut_offset = 0

    @property
    def held(self) -> int:
        """Bytes of an unfinished last line held back (its kept head, for an over-long one)."""
        return len(self.cut) if self.cut is not None else len(self.pending)

    def feed(self, data: bytes) -> list[Block]:
        out: list[Block] = []
        if self.cut is not None:
            newline = data.find(b"\n")
            if newline == -1:
                self.offset += len(data)
                return out
            self.offset += newline + 1
            out.append(Block(self.cut_offset, self.cut, truncated=True, end=self.offset))
            data, self.cut = data[newline + 1 :], None
        data = self.pending + data if self.pending else data
        cut = data.rfind(b"\n") + 1
        if cut:
            out.append(Block(self.offset, data[:cut]))
            self.offset += cut
        rest = data[cut:]
        if len(rest) > MAX_LINE_BYTES:
            self.cut, self.cut_offset = rest[:MAX_LINE_BYTES], self.offset
            self.offset += len(rest)
            rest = b""
        self.pending = rest
        return out

    def finish(self) -> list[Block]:
        """The input ended (or a partial last line waited long enough): its last line without newline."""
        if self.cut is not None:
            block = Block(self.cut_offset, self.cut, truncated=True, end=self.offset)
            self.cut = None
            return [block]
        if not self.pending:
            return []
        block = Block(self.offset, self.pending)
        self.offset += len(self.pending)
        self.pending = b""
        return [block]

    def restart(self, offset: int = 0) -> None:
        self.offset, self.pending, self.cut = offset, b"", None


def frame_stream(stream: BinaryIO, size: int = READ_BYTES) -> Iterator[Block]:
    """The blocks of a stream read to its end. read1: whatever is there (at most one raw read), so a pipe
    fed slowly (`tail -f |`) is not held back until a whole block has arrived."""
    framer = Framer()
    read = getattr(stream, "read1", stream.read)
    while data := read(size):
        yield from framer.feed(data)
    yield from framer.finish()


def read_lines(stream: BinaryIO) -> Iterator[tuple[str, list[str]]]:
    """(text, tags) of every line of a stream: what every input gives the parser."""
    for block in frame_stream(stream):
        yield from block.texts()
