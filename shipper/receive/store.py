"""Where received syslog messages wait for the output: in memory, or in an on-disk spool that survives a
restart, a crash and an Elasticsearch outage.

Both keep messages in one sequence; a message's position in it (with the store's identity) is what its
event `_id` derives from, so a message replayed from the spool after a crash is the same document, not a
second one. The receiver appends; the service takes; the output's acknowledgements `release` everything
before a position, and only then is it forgotten (the spool deletes a segment once all of it is released).

The spool is a directory: `identity` (random, made once), `released` (the position everything before which
the output confirmed; written atomically), and append-only segment files named by the position they start
at. A record is a header (`>IIQHH`: body length, CRC-32 of the body, received time in ns, peer length,
tags length) and its body (peer, tags, payload). A batch is written and fsynced before `append` returns,
so the receiver reads no more from a sender until what it sent is on disk. On open, segments are read
from the released position; a record torn by a crash (short, or its CRC wrong) ends the segment there.
"""

from __future__ import annotations

import os
import secrets
import struct
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from shipper.files import STATE_MODE, write_new

_HEADER = struct.Struct(">IIQHH")
SEGMENT_BYTES = 16 * 1024 * 1024


@dataclass(slots=True)
class Message:
    position: int  # where it starts in the store's sequence
    end: int  # where the next one starts
    peer: str  # the sender's address, `ip:port`
    received: float  # seconds since the epoch, when it arrived
    payload: bytes
    tags: list[str] = field(default_factory=list)


Incoming = tuple[str, float, bytes, list[str]]  # (peer, received, payload, tags)


class Store(Protocol):
    identity: bytes

    def room(self) -> bool:
        """Whether another batch may be appended (else: backpressure for TCP, drops for UDP)."""

    def append(self, batch: list[Incoming]) -> None: ...

    def take(self, limit: int) -> list[Message]:
        """The next messages not yet taken, oldest first."""

    def unread(self) -> bool: ...

    def release(self, position: int) -> None:
        """The output has every message before `position`."""

    def held_bytes(self) -> int: ...

    def close(self) -> None: ...


def _size(item: Incoming) -> int:
    peer, _, payload, tags = item
    return _HEADER.size + len(peer) + sum(len(t) + 1 for t in tags) + len(payload)


class MemoryStore:
    """No spool: a bounded queue. What it holds is lost with the process; TCP senders still wait while it is
    full. Its identity is new at each start (positions restart from 0)."""

    def __init__(self, max_bytes: int) -> None:
        self.identity = secrets.token_bytes(16)
        self.max_bytes = max_bytes
        self.queue: deque[Message] = deque()
        self.position = 0
        self.held = 0  # bytes appended and not yet released
        self.sizes: deque[tuple[int, int]] = deque()  # (end, size) of messages not yet released
        self.lock = threading.Lock()

    def room(self) -> bool:
        return self.held < self.max_bytes

    def append(self, batch: list[Incoming]) -> None:
        with self.lock:
            for item in batch:
                size = _size(item)
                peer, received, payload, tags = item
                self.queue.append(Message(self.position, self.position + size, peer, received, payload, tags))
                self.position += size
                self.held += size
                self.sizes.append((self.position, size))

    def take(self, limit: int) -> list[Message]:
        with self.lock:
            return [self.queue.popleft() for _ in range(min(limit, len(self.queue)))]

    def unread(self) -> bool:
        return bool(self.queue)

    def release(self, position: int) -> None:
        with self.lock:
            while self.sizes and self.sizes[0][0] <= position:
                self.held -= self.sizes.popleft()[1]

    def held_bytes(self) -> int:
        return self.held

    def close(self) -> None:
        pass


class Spool:
    def __init__(self, directory: Path, max_bytes: int, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.identity = self._identity()
        self.released = self._read_released()
        self.lock = threading.Lock()
        self.segments: list[tuple[int, Path]] = self._recover()  # (start position, file), oldest first
        self.end = self._end()  # where the next record goes
        self.writer: BinaryIO | None = None
        self.read_position = self.released
        self.reader: tuple[int, BinaryIO] | None = None  # (segment start, open file)
        self.saved_released = self.released
        self.last_save = time.monotonic()

    # --- state files --------------------------------------------------------------------------------
    def _identity(self) -> bytes:
        path = self.directory / "identity"
        try:
            return bytes.fromhex(path.read_text(encoding="ascii").strip())
        except FileNotFoundError:
            identity = secrets.token_bytes(16)
            write_new(path, identity.hex().encode() + b"\n", STATE_MODE)
            return identity

    def _read_released(self) -> int:
        try:
            return int((self.directory / "released").read_text(encoding="ascii").strip() or 0)
        except FileNotFoundError:
            return 0

    def _save_released(self) -> None:
        path = self.directory / "released"
        tmp = path.with_name("released.tmp")
        tmp.unlink(missing_ok=True)
        write_new(tmp, f"{self.released}\n".encode(), STATE_MODE)
        os.replace(tmp, path)
        self.saved_released = self.released
        self.last_save = time.monotonic()

    # --- recovery -----------------------------------------------------------------------------------
    def _recover(self) -> list[tuple[int, Path]]:
        found = sorted(
            (int(p.stem.removeprefix("segment-")), p) for p in self.directory.glob("segment-*.spool")
            if p.stem.removeprefix("segment-").isdigit()
        )  # fmt: skip
        kept: list[tuple[int, Path]] = []
        for index, (start, path) in enumerate(found):
            size = path.stat().st_size
            later = found[index + 1][0] if index + 1 < len(found) else None
            if later is not None and later <= self.released:
                path.unlink()  # wholly released before the crash
                continue
            valid = _valid_length(path)
            if valid < size:  # a record torn by a crash: the segment ends before it
                with path.open("r+b") as f:
                    f.truncate(valid)
                    os.fsync(f.fileno())
            kept.append((start, path))
        return kept

    def _end(self) -> int:
        if not self.segments:
            return self.released
        start, path = self.segments[-1]
        return start + path.stat().st_size

    # --- writing (the receiver's thread) ------------------------------------------------------------
    def held_bytes(self) -> int:
        return self.end - self.released

    def room(self) -> bool:
        return self.held_bytes() < self.max_bytes

    def append(self, batch: list[Incoming]) -> None:
        if not batch:
            return
        data = bytearray()
        for peer, received, payload, tags in batch:
            peer_b = peer.encode()
            tags_b = ",".join(tags).encode()
            body = peer_b + tags_b + payload
            data += _HEADER.pack(len(body), zlib.crc32(body), int(received * 1e9), len(peer_b), len(tags_b)) + body
        with self.lock:
            writer = self._writer()
            writer.write(data)
            writer.flush()
            os.fsync(writer.fileno())
            self.end += len(data)

    def _writer(self) -> BinaryIO:
        if self.writer is not None and self.writer.tell() < self.segment_bytes:
            return self.writer
        if self.writer is not None:
            self.writer.close()
        path = self.directory / f"segment-{self.end:020d}.spool"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.writer = os.fdopen(fd, "ab")
        if not self.segments or self.segments[-1][1] != path:
            self.segments.append((self.end, path))
            directory = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        return self.writer

    # --- reading (the service's thread) -------------------------------------------------------------
    def unread(self) -> bool:
        return self.read_position < self.end

    def take(self, limit: int) -> list[Message]:
        out: list[Message] = []
        with self.lock:
            end = self.end
        while len(out) < limit and self.read_position < end:
            reader = self._reader()
            if reader is None:
                break
            header = reader.read(_HEADER.size)
            if len(header) < _HEADER.size:
                self._next_segment()
                continue
            length, _, received_ns, peer_len, tags_len = _HEADER.unpack(header)
            body = reader.read(length)
            position = self.read_position
            self.read_position += _HEADER.size + length
            peer = body[:peer_len].decode(errors="replace")
            tags = body[peer_len : peer_len + tags_len].decode(errors="replace")
            payload = body[peer_len + tags_len :]
            out.append(Message(position, self.read_position, peer, received_ns / 1e9, payload,
                               tags.split(",") if tags else []))  # fmt: skip
        return out

    def _reader(self) -> BinaryIO | None:
        if self.reader is not None:
            return self.reader[1]
        with self.lock:
            segments = list(self.segments)
        if not segments:
            return None
        before = [(start, path) for start, path in segments if start <= self.read_position]
        start, path = before[-1] if before else segments[0]
        self.read_position = max(self.read_position, start)
        handle = path.open("rb")
        handle.seek(self.read_position - start)
        self.reader = (start, handle)
        return handle

    def _next_segment(self) -> None:
        """The open segment is read to its end: move on if a later one exists (else wait for more)."""
        if self.reader is None:
            return
        start, handle = self.reader
        with self.lock:
            later = [s for s, _ in self.segments if s > start]
            gone = all(s != start for s, _ in self.segments)  # released while being read
        if later:
            handle.close()
            self.reader = None
            self.read_position = max(self.read_position, later[0])
            if gone:
                (self.directory / f"segment-{start:020d}.spool").unlink(missing_ok=True)

    # --- releasing (the output's thread) ------------------------------------------------------------
    def release(self, position: int) -> None:
        with self.lock:
            if position <= self.released:
                return
            self.released = position
            while len(self.segments) > 1 and self.segments[1][0] <= position:
                start, path = self.segments.pop(0)
                if self.reader is not None and self.reader[0] == start:
                    continue  # still being read: kept until the reader moves on
                path.unlink(missing_ok=True)
            if time.monotonic() - self.last_save >= 1.0:
                self._save_released()

    def close(self) -> None:
        with self.lock:
            if self.writer is not None:
                self.writer.close()
                self.writer = None
            if self.reader is not None:
                self.reader[1].close()
                self.reader = None
            if self.released != self.saved_released:
                self._save_released()


def _valid_length(path: Path) -> int:
    """The length of the segment's leading run of whole, intact records."""
    valid = 0
    with path.open("rb") as f:
        while True:
            header = f.read(_HEADER.size)
            if len(header) < _HEADER.size:
                return valid
            length, crc, _, peer_len, tags_len = _HEADER.unpack(header)
            body = f.read(length)
            if len(body) < length or zlib.crc32(body) != crc or peer_len + tags_len > length:
                return valid
            valid += _HEADER.size + length
