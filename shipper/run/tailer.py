"""Follow files through rotation: find them, read new complete lines, notice renames, truncation and
compressed rotations.

One `Harvester` per open file, known by device + inode; the open descriptor keeps a renamed or deleted
file readable to its end. A file's fingerprint is its first line (up to 1 KiB), as `shipper ingest`
uses, so a compressed rotation of a file already shipped is recognised and not read again, and one
that was rotated and compressed while shipper was down is finished from the decompressed offset.

copytruncate has an unavoidable race: lines written between logrotate's copy and its truncate exist
only in the copy. Shipper ships the copy when the glob matches it (its fingerprint says how far the
original was read); otherwise those lines are lost, as with every tailer.
"""

from __future__ import annotations

import errno
import fnmatch
import glob
import lzma
import os
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from shipper.core.compression import compression_of, decompressed
from shipper.core.ids import IDENTITY_BYTES, fingerprint_of
from shipper.pipeline.framing import READ_BYTES, Framer, Line
from shipper.run.config import InputConfig
from shipper.run.registry import FileState, Registry
from shipper.safeopen import NotFollowed, open_found

COMPRESSED_ERRORS = (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error)  # cut off or corrupt
WRITING_GRACE = 60.0  # a compressed file this young that ends early may still be being written


def _compressed_identity(fd: int) -> bytes:
    """The first line (up to 1 KiB) of a compressed file's content: what its original was known by."""
    with decompressed(os.fdopen(os.dup(fd), "rb")) as stream:
        return stream.readline(IDENTITY_BYTES + 1)[:IDENTITY_BYTES].rstrip(b"\n")


def _stream_from_start(fd: int) -> BinaryIO:
    os.lseek(fd, 0, os.SEEK_SET)  # a dup read the identity: they share the position
    return decompressed(os.fdopen(fd, "rb"))


class Harvester:
    """Reads one file from an offset: complete lines, a held partial last line, over-long lines cut."""

    def __init__(
        self, path: str, fd: int, state: FileState, identity: bytes, source: str | None, registry: Registry,
        timezone: str | None = None,
    ) -> None:  # fmt: skip
        self.path = path
        self.timezone = timezone  # its input's `timezone:`, if it has one
        self.fd = fd
        self.state = state
        self.identity: bytes | None = identity
        self.source = source
        self.registry = registry
        self.framer = Framer(state.offset)
        self.held_at = -1  # where the unfinished last line starts
        self.pending_since = 0.0
        self.last_growth = time.monotonic()
        self.eof = False
        self.generation = 0  # bumped on truncation: acks for lines of an earlier generation are void

    @property
    def key(self) -> tuple[int, int]:
        return self.state.device, self.state.inode

    @property
    def read_offset(self) -> int:
        """Where the next line starts (the held partial line's offset)."""
        return self.framer.offset

    @property
    def pending(self) -> bytes:
        return self.framer.pending

    @property
    def peer(self) -> str | None:
        return None

    def last_write(self) -> float:
        return os.fstat(self.fd).st_mtime

    def confirm(self, end: int) -> None:
        self.state.confirm(end)

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def rewritten(self) -> bool:
        """The first line is no longer what it was: truncated and written past the old offset between two
        looks (the size alone would not show it)."""
        if not self.identity:
            return False
        return self.read_offset > 0 and os.pread(self.fd, len(self.identity), 0) != self.identity

    def restart(self) -> None:
        """The file was truncated (copytruncate): read it again from its start. What it held lives on in
        the copy logrotate made: an entry under the old fingerprint and confirmed offset lets the copy be
        finished from there (found by `Tailer._find_rotated` or when a glob matches it)."""
        if self.state.fingerprint:
            self.registry.put(FileState(self.path, 0, 0, self.state.fingerprint, self.state.offset, self.state.size,
                                        source=self.state.source, updated=time.time()))  # fmt: skip
        self.framer.restart(0)
        self.state.offset = 0
        self.generation += 1
        self.identity = None  # new content from byte 0: a new first line, a new fingerprint

    def _ensure_identity(self) -> bool:
        """After a truncation the fingerprint is that of the new first line, once it is complete; event ids
        and the registry key follow it, so a later restart recognises the file."""
        if self.identity is not None:
            return True
        head = os.pread(self.fd, IDENTITY_BYTES, 0)
        newline = head.find(b"\n")
        if newline == -1 and len(head) < IDENTITY_BYTES:
            return False
        self.identity = head[:newline] if newline != -1 else head
        self.registry.forget(self.state)
        self.state.fingerprint = fingerprint_of(self.identity)
        self.registry.put(self.state)
        return True

    def read(self, budget: int, partial_timeout: float, final: bool = False) -> list[Line]:
        """New complete lines, at most about `budget` bytes. A last line without newline is held until it
        gets one, or returned once it has waited `partial_timeout` (or at once when `final`)."""
        if not self._ensure_identity():
            return []
        data = os.pread(self.fd, budget, self.read_offset + len(self.pending))
        now = time.monotonic()
        self.eof = len(data) < budget
        if data:
            self.last_growth = now
        framer = self.framer
        lines = [line for block in framer.feed(data) for line in block.lines()]
        if framer.held:
            held_at = framer.cut_offset if framer.cut is not None else framer.offset
            if held_at != self.held_at:  # a new unfinished line: its wait starts now
                self.held_at, self.pending_since = held_at, now
            if self.eof and (final or now - self.pending_since >= partial_timeout):
                lines += [line for block in framer.finish() for line in block.lines()]
        return lines

    def close(self) -> None:
        os.close(self.fd)


class CompressedReader:
    """A rotated compressed file, read once from a decompressed offset to its end."""

    def __init__(
        self, path: str, stream: BinaryIO, state: FileState, identity: bytes, source: str | None,
        timezone: str | None = None,
    ) -> None:  # fmt: skip
        self.path = path
        self.timezone = timezone
        self.stream = stream
        self.state = state
        self.identity = identity
        self.source = source
        self.eof = False
        self.generation = 0
        try:
            self.mtime = os.fstat(stream.fileno()).st_mtime  # the rotation's date: its reference date
        except (OSError, AttributeError, ValueError):
            self.mtime = time.time()
        position, skip = 0, state.offset
        while skip > 0:
            chunk = stream.read(min(skip, READ_BYTES))
            if not chunk:
                break
            skip -= len(chunk)
            position += len(chunk)
        self.framer = Framer(position)

    @property
    def position(self) -> int:
        return self.framer.offset

    @property
    def peer(self) -> str | None:
        return None

    def last_write(self) -> float:
        return self.mtime

    def confirm(self, end: int) -> None:
        self.state.confirm(end)

    def read(self, budget: int) -> list[Line]:
        data = self.stream.read(budget)
        if not data:
            self.eof = True
            return [line for block in self.framer.finish() for line in block.lines()]
        return [line for block in self.framer.feed(data) for line in block.lines()]

    def close(self) -> None:
        self.stream.close()


@dataclass
class TailerEvents:
    """What the tailer tells its owner about, besides lines."""

    warn: Callable[[str], None] = lambda message: None
    info: Callable[[str], None] = lambda message: None


@dataclass
class Tailer:
    inputs: list[InputConfig]
    registry: Registry
    start_position: str = "beginning"
    partial_timeout: float = 5.0
    rotate_grace: float = 2.0  # a rotated file may still be written briefly (until the daemon reopens)
    events: TailerEvents = field(default_factory=TailerEvents)
    harvesters: dict[tuple[int, int], Harvester] = field(default_factory=dict)
    compressed: list[CompressedReader] = field(default_factory=list)
    seen_compressed: set[tuple[int, int, int]] = field(default_factory=set)  # (dev, ino, mtime) checked
    refused: set[str] = field(default_factory=set)  # found paths not followed (said once each)
    first_scan: bool = True

    # --- discovery -----------------------------------------------------------------------------------
    def watched_directories(self) -> set[str]:
        return {os.path.dirname(pattern) for item in self.inputs for pattern in item.paths}

    def _matches(self) -> Iterator[tuple[str, InputConfig]]:
        seen: set[str] = set()
        for item in self.inputs:
            for pattern in item.paths:
                for path in sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]:
                    name = os.path.basename(path)
                    if path in seen or any(fnmatch.fnmatch(name, ex) for ex in item.exclude):
                        continue
                    seen.add(path)
                    yield path, item

    def _timezone_of(self, path: str) -> str | None:
        """The `timezone:` of the input a file was found by (a rotated file: by its path before rotation)."""
        for item in self.inputs:
            if any(fnmatch.fnmatch(path, pattern) for pattern in item.paths):
                return item.timezone
        return None

    def scan(self) -> None:
        """Open files that appeared (or were rotated in) and follow renames of open ones."""
        for path, item in self._matches():
            fd = self._open_found(path, item.follow_symlinks)
            if fd is None:
                continue
            st = os.fstat(fd)
            key = (st.st_dev, st.st_ino)
            harvester = self.harvesters.get(key)
            if harvester is not None:
                os.close(fd)
                if harvester.path != path:
                    self.events.info(f"{harvester.path} is now {path} (renamed); following it to its end")
                    harvester.path = harvester.state.path = path
                continue
            compressed = compression_of(os.pread(fd, 6, 0))
            if compressed is None:
                os.close(fd)  # empty, or a compressor still writing its header: decide at the next scan
            elif compressed:
                self._consider_compressed(path, fd, st, item)
            else:
                self._open(path, fd, st, item)
        self._resume_dangling()
        self.first_scan = False

    def _open_found(self, path: str, follow_symlinks: bool) -> int | None:
        """A descriptor of the regular file at `path`, or None; a refusal is said once per path."""
        try:
            fd = open_found(path, follow_symlinks)
        except NotFollowed as exc:
            if path not in self.refused:
                self.refused.add(path)
                self.events.warn(f"skipped {exc}")
            return None
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                self.events.warn(f"{path}: cannot open ({exc.strerror}); will retry")
            return None
        self.refused.discard(path)
        return fd

    def _identity(self, fd: int) -> bytes | None:
        """The first line (up to 1 KiB); None while the file has neither a newline nor 1 KiB yet."""
        head = os.pread(fd, IDENTITY_BYTES, 0)
        newline = head.find(b"\n")
        if newline != -1:
            return head[:newline]
        return head if len(head) >= IDENTITY_BYTES else None

    def _open(self, path: str, fd: int, st: os.stat_result, item: InputConfig) -> None:
        identity = self._identity(fd)
        if identity is None:
            os.close(fd)  # no complete first line yet: its fingerprint is unknown, look again next scan
            return
        fingerprint = fingerprint_of(identity)
        state = self.registry.find(st.st_dev, st.st_ino, fingerprint)
        copies = [s for s in self.registry.by_fingerprint(fingerprint) if s is not state and not s.finished]
        if state is None and any(h.state in copies for h in self.harvesters.values()):
            os.close(fd)  # a copy of a file being read right now (copytruncate in progress): decide next scan
            return
        detached = [s for s in copies if (s.device, s.inode) == (0, 0)]
        if state is None and detached:  # the copy of a truncated file: go on from where the original stopped
            state = max(detached, key=lambda s: s.offset)
            self.registry.forget(state)
            state.device, state.inode = st.st_dev, st.st_ino
            self.registry.put(state)
            self.events.info(f"{path}: a copy of {state.path} made before truncation; finishing it from "
                             f"offset {state.offset}")  # fmt: skip
            state.path = path
        if state is not None:
            state.path, state.finished, state.read_end = path, False, None
            if state.offset > st.st_size:
                self.events.warn(f"{path}: shorter than the offset shipped ({state.offset}); truncated while "
                                 "shipper was down, reading from its start")  # fmt: skip
                state.offset = 0
        else:
            stale = [s for s in self.registry.files.values() if (s.device, s.inode) == (st.st_dev, st.st_ino)]
            for old in stale:  # same inode, another first line: the old file was deleted and its inode reused.
                self.registry.forget(old)  # Its content may live on in a compressed rotation: keep the
                old.device = old.inode = 0  # entry, findable by fingerprint only
                self.registry.put(old)
            at_end = self.first_scan and self.start_position == "end"
            state = FileState(path, st.st_dev, st.st_ino, fingerprint, st.st_size if at_end else 0, st.st_size,
                              source=item.source, updated=time.time())  # fmt: skip
            self.registry.put(state)
            self.events.info(f"{path}: following from offset {state.offset}")
        self.harvesters[(st.st_dev, st.st_ino)] = Harvester(path, fd, state, identity, item.source, self.registry,
                                                            item.timezone)  # fmt: skip

    def _consider_compressed(self, path: str, fd: int, st: os.stat_result, item: InputConfig) -> None:
        """A compressed file: a rotation of a file known by its first line (finished from its confirmed
        offset, unless every line of it is confirmed or in flight), or a new one (read whole)."""
        mark = (st.st_dev, st.st_ino, st.st_mtime_ns)
        if mark in self.seen_compressed or time.time() - st.st_mtime < self.rotate_grace:
            os.close(fd)  # checked already, or so young that the compressor may still be writing it
            return
        self.seen_compressed.add(mark)
        try:
            identity = _compressed_identity(fd)
        except COMPRESSED_ERRORS as exc:
            os.close(fd)
            if time.time() - st.st_mtime < WRITING_GRACE:
                self.seen_compressed.discard(mark)  # cut off: probably still being written, look again
            else:
                self.events.warn(f"{path}: unreadable compressed file ({exc})")
            return
        fingerprint = fingerprint_of(identity)
        known = self.registry.by_fingerprint(fingerprint)
        if any(s.finished or s.read_end is not None for s in known):
            os.close(fd)  # a rotation of a file shipped to its end (or read to its end, confirmation pending)
            return
        if any(h.state in known for h in self.harvesters.values()) or any(r.state in known for r in self.compressed):
            os.close(fd)
            self.seen_compressed.discard(mark)  # the original is still open and being read: decide later
            return
        if known:
            state = max(known, key=lambda s: s.offset)
            self.events.info(f"{path}: a compressed rotation of {state.path}; finishing it from offset {state.offset}")
        elif self.first_scan and self.start_position == "end":
            os.close(fd)
            return
        else:
            state = FileState(path, st.st_dev, st.st_ino, fingerprint, 0, source=item.source, updated=time.time())
            self.registry.put(state)
        self.compressed.append(
            CompressedReader(path, _stream_from_start(fd), state, identity, item.source, item.timezone)
        )

    def _resume_dangling(self) -> None:
        """Registry entries not finished whose file is not open: rotated while shipper was down. Look for
        them beside their old path (mail.log.1, mail.log-20261128, mail.log.1.gz), by inode or by
        fingerprint (a copy, a compressed copy), and finish them from their offset. An entry read to its
        end whose last lines await confirmation is left alone: it finishes when they are confirmed."""
        open_keys = set(self.harvesters)
        for state in list(self.registry.files.values()):
            if state.finished or state.read_end is not None or (state.device, state.inode) in open_keys:
                continue
            if any(h.state is state for h in self.harvesters.values()):
                continue
            if any(reader.state is state for reader in self.compressed):
                continue
            if not self._find_rotated(state):
                state.finished = True  # gone for good: nothing left to read
                self.events.warn(f"{state.path}: rotated away while shipper was down and not found; "
                                 f"lines after offset {state.offset} may be lost")  # fmt: skip

    def _find_rotated(self, state: FileState) -> bool:
        directory, base = os.path.split(state.path)
        try:
            names = sorted(n for n in os.listdir(directory or ".") if n.startswith(base))
        except OSError:
            return False
        follow = any(item.follow_symlinks for item in self.inputs)
        for name in names:
            candidate = os.path.join(directory, name)
            fd = self._open_found(candidate, follow)
            if fd is None:
                continue
            st = os.fstat(fd)
            compressed = compression_of(os.pread(fd, 6, 0))
            if (st.st_dev, st.st_ino) in self.harvesters or compressed is None:
                os.close(fd)
                continue
            if compressed:
                try:
                    identity = _compressed_identity(fd)
                except COMPRESSED_ERRORS:
                    os.close(fd)
                    continue
                if fingerprint_of(identity) != state.fingerprint:
                    os.close(fd)
                    continue
                self.events.info(f"{state.path} was rotated and compressed to {candidate}; finishing it")
                self.seen_compressed.add((st.st_dev, st.st_ino, st.st_mtime_ns))
                zone = self._timezone_of(state.path)
                stream = _stream_from_start(fd)
                self.compressed.append(CompressedReader(candidate, stream, state, identity, state.source, zone))
                return True
            identity = self._identity(fd) or b""
            if fingerprint_of(identity) != state.fingerprint:
                os.close(fd)
                continue
            self.events.info(f"{state.path} was rotated to {candidate}; finishing it from offset {state.offset}")
            self.registry.forget(state)
            state.path, state.device, state.inode = candidate, st.st_dev, st.st_ino
            self.registry.put(state)
            zone = self._timezone_of(state.path)
            harvester = Harvester(candidate, fd, state, identity, state.source, self.registry, zone)
            self.harvesters[(st.st_dev, st.st_ino)] = harvester
            return True
        return False

    # --- reading -------------------------------------------------------------------------------------
    def poll(self, budget: int = READ_BYTES) -> Iterator[tuple[Harvester | CompressedReader, list[Line]]]:
        """Lines from every open file, a budget at a time per file (fair between a busy and a quiet one)."""
        now = time.monotonic()
        for key, harvester in list(self.harvesters.items()):
            try:
                size = harvester.size()
            except OSError:
                size = harvester.read_offset
            harvester.state.size = size
            if size < harvester.read_offset + len(harvester.pending) or harvester.rewritten():
                self.events.warn(f"{harvester.path}: truncated (copytruncate?) from {harvester.read_offset} to "
                                 f"{size} bytes; reading it again from the start")  # fmt: skip
                harvester.restart()
            rotated = self._rotated(harvester)
            lines = harvester.read(budget, self.partial_timeout, final=rotated)
            if lines:
                yield harvester, lines
            drained = harvester.eof and not harvester.framer.held
            if rotated and drained and now - harvester.last_growth >= self.rotate_grace:
                harvester.close()
                del self.harvesters[key]
                harvester.state.drained(harvester.read_offset)
                self.events.info(f"{harvester.path}: rotated away and read to its end; closed")
        for reader in list(self.compressed):
            try:
                lines = reader.read(budget)
            except COMPRESSED_ERRORS as exc:
                self._compressed_failed(reader, exc)
                lines = []
            if lines:
                yield reader, lines
            if reader.eof:
                reader.close()
                self.compressed.remove(reader)
                reader.state.drained(reader.position)

    def _compressed_failed(self, reader: CompressedReader, exc: BaseException) -> None:
        """A compressed file that ends early or is corrupt. A young one may still be being written: it is
        closed without being marked read, and considered again (from its confirmed offset) at a later scan.
        An old one is read as far as it goes."""
        try:
            st = os.stat(reader.path)
            young = time.time() - st.st_mtime < WRITING_GRACE
        except OSError:
            young = False
        if young:
            reader.close()
            self.compressed.remove(reader)
            self.seen_compressed = {m for m in self.seen_compressed if m[:2] != (st.st_dev, st.st_ino)}
            return
        self.events.warn(f"{reader.path}: compressed data ends early or is corrupt after {reader.position} bytes "
                         f"({exc}); the lines before were read")  # fmt: skip
        reader.eof = True

    @staticmethod
    def _rotated(harvester: Harvester) -> bool:
        """The path no longer leads to this file (renamed away or deleted)."""
        try:
            st = os.stat(harvester.path)
        except OSError:
            return True
        return (st.st_dev, st.st_ino) != harvester.key

    def lagging(self) -> bool:
        """Something is known to be unread (so poll again at once rather than wait)."""
        return any(not h.eof for h in self.harvesters.values()) or bool(self.compressed)

    def close(self) -> None:
        for harvester in self.harvesters.values():
            harvester.close()
        for reader in self.compressed:
            reader.close()
        self.harvesters.clear()
        self.compressed.clear()
