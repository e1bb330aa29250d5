"""Where each followed file stands: identity and the offset up to which Elasticsearch has every event.

A file is known by device + inode (where it lives now) and by the fingerprint of its first line (what it
is: the same fingerprint `shipper ingest` uses for event ids, so a rotated, renamed or compressed copy is
recognised). The offset only moves when the output acknowledged every event before it. The file is
written atomically: a temporary file in the same directory, fsync, rename, fsync of the directory; a
crash leaves either the old or the new registry, never half of one.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson

VERSION = 1


@dataclass
class FileState:
    path: str
    device: int
    inode: int
    fingerprint: str  # hex BLAKE2b of the first line (up to 1 KiB); "" until the first line is complete
    offset: int  # bytes acknowledged: every event before this offset is in the output
    size: int = 0  # size when last seen, for lag
    finished: bool = False  # rotated away and read to its end: only its fingerprint still matters
    source: str | None = None
    updated: float = 0.0
    # Where reading ended, once the file was rotated away and read to its end; in memory only: the entry is
    # finished when the output has confirmed every line up to it, and after a crash before that, read
    # again from the confirmed offset.
    read_end: int | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        return f"{self.device}:{self.inode}:{self.fingerprint}"

    def confirm(self, end: int) -> None:
        """The output has every line before `end`."""
        if end > self.offset:
            self.offset = end
            self.updated = time.time()
        if self.read_end is not None and self.offset >= self.read_end:
            self.finished = True

    def drained(self, end: int) -> None:
        """Read to its end (`end`) and closed: finished once confirmed up to there."""
        self.read_end = end
        if self.offset >= end:
            self.finished = True


def _saved(state: FileState) -> dict[str, object]:
    saved = asdict(state)
    del saved["read_end"]
    return saved


class RegistryError(ValueError):
    pass


class Registry:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.files: dict[str, FileState] = {}
        self.cursors: dict[str, str] = {}  # a journald input's last confirmed cursor, by the input's key
        self._saved: tuple[object, ...] | None = None

    @classmethod
    def load(cls, path: Path) -> Registry:
        registry = cls(path)
        try:
            data = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            return registry
        except (OSError, orjson.JSONDecodeError) as exc:
            raise RegistryError(f"{path}: unreadable registry ({exc}); move it away to start over") from None
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise RegistryError(f"{path}: not a shipper registry of version {VERSION}")
        for item in data.get("files", []):
            state = FileState(**item)
            registry.files[state.key] = state
        cursors = data.get("cursors", {})
        if isinstance(cursors, dict):
            registry.cursors = {str(k): str(v) for k, v in cursors.items()}
        return registry

    def signature(self) -> tuple[object, ...]:
        return (*((k, s.offset, s.finished, s.path) for k, s in self.files.items()), *sorted(self.cursors.items()))

    def save_if_changed(self) -> bool:
        """Save unless nothing moved since the last save (an idle server does not fsync every second)."""
        signature = self.signature()
        if signature == self._saved:
            return False
        self.save()
        self._saved = signature
        return True

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = orjson.dumps(
            {"version": VERSION, "files": [_saved(s) for s in self.files.values()], "cursors": self.cursors},
            option=orjson.OPT_INDENT_2,
        )
        fd, temp = tempfile.mkstemp(prefix=".registry-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(payload)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def by_fingerprint(self, fingerprint: str) -> list[FileState]:
        return [s for s in self.files.values() if s.fingerprint == fingerprint and fingerprint]

    def find(self, device: int, inode: int, fingerprint: str) -> FileState | None:
        return self.files.get(f"{device}:{inode}:{fingerprint}")

    def put(self, state: FileState) -> None:
        self.files[state.key] = state

    def forget(self, state: FileState) -> None:
        self.files.pop(state.key, None)


class RunLock:
    """`<registry>.lock`: held (flock, exclusive) by the `shipper run` that uses the registry, holding its pid
    and start time. A second `run` on the same registry is refused (two would overwrite each other's
    offsets); `shipper status` tells from it whether one is running. The kernel drops the lock when the
    process dies, so a stale file from a crash never blocks a start."""

    def __init__(self, registry_path: Path) -> None:
        self.path = registry_path.with_name(registry_path.name + ".lock")
        self.fd: int | None = None

    def acquire(self) -> None:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self.holder() or {}
            os.close(fd)
            raise RegistryError(
                f"{self.path.with_suffix('')}: another shipper run (pid {holder.get('pid', '?')}) "
                "uses this registry; stop it first or give this one its own registry.path"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, orjson.dumps({"pid": os.getpid(), "started": time.time()}))
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def holder(self) -> dict[str, float] | None:
        """The running `shipper run`'s pid and start time, or None when none holds the lock."""
        import fcntl

        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                data = orjson.loads(os.read(fd, 4096) or b"{}")
                return data if isinstance(data, dict) else {}
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        except (OSError, orjson.JSONDecodeError):
            return {}
        finally:
            os.close(fd)
