"""Event identity: what an input is known by, and the `_id` of each of its events."""

from __future__ import annotations

import hashlib
from binascii import b2a_base64

IDENTITY_BYTES = 1024  # an input is known by its first line, up to this many bytes


def event_id(identity: bytes, offset: int, raw_line: bytes) -> str:
    """22 URL-safe characters: a 128-bit BLAKE2b of the input's identity, the line's offset and its bytes."""
    digest = hashlib.blake2b(b"%b\0%d\0%b" % (identity, offset, raw_line), digest_size=16).digest()
    return b2a_base64(digest, newline=False)[:22].decode("ascii").replace("+", "-").replace("/", "_")


def fingerprint_of(identity: bytes) -> str:
    """A registry's key for a file's identity (empty for an empty first line)."""
    return hashlib.blake2b(identity, digest_size=16).hexdigest() if identity else ""
