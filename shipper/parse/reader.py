"""Read log lines from files (plain, gzip, bzip2, xz by magic bytes) or stdin, never failing on content.

Each line comes back decoded with the tags it earned: `invalid_utf8` (bytes replaced by U+FFFD),
`nul_bytes` (NULs replaced by U+FFFD), `truncated` (longer than MAX_LINE_BYTES; the rest is skipped).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import sys
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

MAX_LINE_BYTES = 64 * 1024
_READ_CHUNK = 1 << 20

_MAGIC = ((b"\x1f\x8b", gzip.open), (b"BZh", bz2.open), (b"\xfd7zXZ\x00", lzma.open))


def open_binary(path: Path) -> BinaryIO:
    return decompressed(path.open("rb"))


def decompressed(raw: io.BufferedReader) -> BinaryIO:
    """`raw`, or a stream of its decompressed content when it starts with a compressor's magic bytes."""
    head = raw.peek(6)[:6]  # peek, not read+seek: the path may be a FIFO or /dev/fd/N
    for magic, opener in _MAGIC:
        if head.startswith(magic):
            return opener(raw)  # type: ignore[operator, no-any-return]
    return raw


def compression_of(head: bytes) -> bool | None:
    """Whether a file whose first bytes are `head` is compressed; None while that cannot be told yet (empty,
    or a magic's first bytes: a compressor may be writing its header right now)."""
    if any(head.startswith(magic) for magic, _ in _MAGIC):
        return True
    if any(magic.startswith(head) for magic, _ in _MAGIC):
        return None
    return False


def reference_date(path: Path | None) -> date:
    """Year-less timestamps in a file were written before its last modification; a stream's before today."""
    if path is None:
        return date.today()
    return datetime.fromtimestamp(path.stat().st_mtime).date()


def decode_line(raw: bytes, tags: list[str]) -> str:
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


def read_lines(stream: BinaryIO) -> Iterator[tuple[str, list[str]]]:
    """Yield (text, tags) per line; a final line without newline is still a line."""
    readline = stream.readline
    while True:
        raw = readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        tags: list[str] = []
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raw = _trim_partial_char(raw[:MAX_LINE_BYTES])
            tags.append("truncated")
            _skip_rest_of_line(stream)
        yield decode_line(raw, tags), tags


def split_block(block: bytes) -> list[tuple[str, list[str]]] | Iterator[tuple[str, list[str]]]:
    """The lines of a block from `read_blocks`. Clean blocks (valid UTF-8, no NUL, no over-long line) are
    decoded and split in one pass; any other block goes line by line through `read_lines`."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        return read_lines(io.BytesIO(block))
    if "\x00" in text:
        return read_lines(io.BytesIO(block))
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:  # a bare CR before the newline is stripped by read_lines; keep one behaviour
            return read_lines(io.BytesIO(block))
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    longest = max(map(len, lines), default=0) if len(block) > MAX_LINE_BYTES else 0
    if longest * 4 > MAX_LINE_BYTES and any(len(line.encode("utf-8")) > MAX_LINE_BYTES for line in lines):
        return read_lines(io.BytesIO(block))
    no_tags: list[str] = []
    return [(line, no_tags) for line in lines]


def _trim_partial_char(raw: bytes) -> bytes:
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


def _skip_rest_of_line(stream: BinaryIO) -> None:
    while True:
        chunk = stream.readline(_READ_CHUNK)
        if not chunk or chunk.endswith(b"\n"):
            return


def read_blocks(stream: BinaryIO, size: int = _READ_CHUNK) -> Iterator[tuple[int, bytes]]:
    """(offset, block): whole lines in blocks of about `size` bytes, for handing to parser processes without
    per-line work, each with the stream offset of its first byte.

    A line longer than MAX_LINE_BYTES is cut to MAX_LINE_BYTES + 1 bytes and becomes a block of its own, so
    `read_lines` on the block still sees it as over-long (and tags it), memory stays bounded whatever the
    line's length, and the offsets of the lines after it stay true.
    """
    pending = b""
    base = 0  # stream offset of pending[0]
    skipped = 0  # bytes of a cut line dropped so far
    skipping = False
    # read1: whatever is there (at most one raw read), so a pipe fed slowly (`tail -f |`) is not held back
    # until a whole block has arrived.
    read = getattr(stream, "read1", stream.read)
    while data := read(size):
        if skipping:
            newline = data.find(b"\n")
            if newline == -1:
                skipped += len(data)
                continue
            yield base, pending + b"\n"
            base += len(pending) + skipped + newline + 1
            pending, data, skipping = b"", data[newline + 1 :], False
        data = pending + data
        cut = data.rfind(b"\n") + 1
        if cut:
            yield base, data[:cut]
            base += cut
        pending = data[cut:]
        if len(pending) > MAX_LINE_BYTES:
            skipped = len(pending) - (MAX_LINE_BYTES + 1)
            pending = pending[: MAX_LINE_BYTES + 1]
            skipping = True
    if pending:
        yield base, pending


def line_offsets(base: int, block: bytes) -> list[int]:
    """Stream offset of each line of a block from `read_blocks` (as many as `split_block` gives)."""
    offsets = []
    position = base
    for raw in block.split(b"\n"):
        offsets.append(position)
        position += len(raw) + 1
    if block.endswith(b"\n") or not block:
        offsets.pop()
    return offsets


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
