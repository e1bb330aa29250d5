"""Compressed inputs, known by their magic bytes (gzip, bzip2, xz), never by their names."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from pathlib import Path
from typing import BinaryIO, cast

_MAGIC = ((b"\x1f\x8b", gzip.open), (b"BZh", bz2.open), (b"\xfd7zXZ\x00", lzma.open))

# What reading a damaged input raises: truncated or corrupt compressed data, or an I/O error.
READ_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError)


def decompressed(raw: io.BufferedReader) -> BinaryIO:
    """`raw`, or a stream of its decompressed content when it starts with a compressor's magic bytes."""
    head = raw.peek(6)[:6]  # peek, not read+seek: the path may be a FIFO or /dev/fd/N
    for magic, opener in _MAGIC:
        if head.startswith(magic):
            return cast(BinaryIO, opener(raw))
    return raw


def open_binary(path: Path) -> BinaryIO:
    return decompressed(path.open("rb"))


def compression_of(head: bytes) -> bool | None:
    """Whether a file whose first bytes are `head` is compressed; None while that cannot be told yet (empty,
    or a magic's first bytes: a compressor may be writing its header right now)."""
    if any(head.startswith(magic) for magic, _ in _MAGIC):
        return True
    if any(magic.startswith(head) for magic, _ in _MAGIC):
        return None
    return False
