"""The journald input of `shipper run`: `journalctl -o json --follow`, resumed after the cursor of the last
entry the output confirmed (kept in the registry; at-least-once, and an entry read twice is the same
document: its `_id` derives from its journal position and text).

journalctl runs as a child process; a thread reads its output into a bounded queue, so while the output is
away the queue fills, the thread waits, journalctl's pipe fills and journalctl waits: nothing read is
dropped. A cursor journalctl refuses (the entry was vacuumed, or the journal is another machine's) is
reported, and reading starts over at the oldest entry; ids make the entries already shipped harmless.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import shutil
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from shipper.journal.entries import render, seqnum
from shipper.pipeline.framing import Line
from shipper.pipeline.inputs import StreamOrigin

IDENTITY = b"journald"  # with an entry's sequence number and text, its `_id` (run and ingest alike)
QUEUE_ENTRIES = 20_000
TAKE = 2000
_DONE = object()


def journalctl_command(
    settings: Any, *, cursor: str | None, follow: bool, since: str | None = None, from_end: bool = False
) -> list[str]:
    """Without a cursor, following starts at the oldest entry (`--no-tail`: journalctl would show only the last
    ten), or at the end with `from_end` (`start_position: end`)."""
    binary = shutil.which("journalctl") or "journalctl"
    command = [binary, "-o", "json", "--no-pager"]
    if follow:  # `--follow` alone shows only the last ten entries, even after a cursor
        command += ["--follow", "--lines=0" if from_end and not cursor else "--no-tail"]
    if cursor:
        command.append(f"--after-cursor={cursor}")
    elif since:
        command.append(f"--since={since}")
    if getattr(settings, "directory", None):
        command.append(f"--directory={settings.directory}")
    for path in getattr(settings, "files", None) or []:
        command.append(f"--file={path}")
    for unit in getattr(settings, "units", None) or []:
        command.append(f"--unit={unit}")
    for identifier in getattr(settings, "identifiers", None) or []:
        command.append(f"--identifier={identifier}")
    command += list(getattr(settings, "matches", None) or [])
    return command


def registry_key(settings: Any) -> str:
    """What the input's cursor is kept under: its filters and journal location."""
    parts = orjson.dumps({k: getattr(settings, k, None) for k in ("directory", "files", "units", "identifiers",
                                                                   "matches")}, default=str)  # fmt: skip
    return "journald:" + hashlib.blake2b(parts, digest_size=8).hexdigest()


class JournalOrigin(StreamOrigin):
    def __init__(self, owner: JournalInput) -> None:
        self.owner = owner

    @property
    def source(self) -> str | None:
        return self.owner.source

    @property
    def timezone(self) -> str | None:
        return "UTC"  # the rendered stamps carry their zone; this only keeps year-less guesses out

    @property
    def identity(self) -> bytes | None:
        return IDENTITY

    def confirm(self, end: int) -> None:
        self.owner.confirm(end)


class JournalInput:
    def __init__(
        self, settings: Any, cursors: dict[str, str], log: Callable[[str], None], wake: Callable[[], None],
        *, from_end: bool = False,
    ) -> None:  # fmt: skip
        self.settings = settings
        self.from_end = from_end  # no cursor yet: start at the end of the journal (`start_position: end`)
        self.source = getattr(settings, "source", None)
        self.key = registry_key(settings)
        self.cursors = cursors  # the registry's: the confirmed cursor is written here
        self.log = log
        self.wake = wake
        self.origin = JournalOrigin(self)
        self.entries: queue.Queue[Any] = queue.Queue(QUEUE_ENTRIES)
        self.counter = 0  # positions of the entries taken, for acknowledgements
        self.in_flight: deque[tuple[int, str]] = deque()  # (end, cursor) taken, not yet confirmed
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.process: subprocess.Popen[bytes] | None = None
        self.thread = threading.Thread(target=self._read, name="journald-input", daemon=True)
        self.thread.start()

    # --- reading (its own thread) -------------------------------------------------------------------
    def _read(self) -> None:
        cursor = self.cursors.get(self.key)
        while not self.stopping.is_set():
            command = journalctl_command(self.settings, cursor=cursor, follow=True, from_end=self.from_end)
            try:
                self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            except OSError as exc:
                self.log(f"error: journald input: cannot run journalctl: {exc}")
                return
            assert self.process.stdout is not None
            resumed = cursor
            for raw in self.process.stdout:
                try:
                    entry = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    continue
                if resumed is not None:
                    self._check_resume(resumed, str(entry.get("__CURSOR") or ""))
                    resumed = None
                while not self.stopping.is_set():
                    try:
                        self.entries.put(entry, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                self.wake()
                if self.stopping.is_set():
                    break
            status = self.process.wait()
            errors = self.process.stderr.read().decode(errors="replace").strip() if self.process.stderr else ""
            if self.stopping.is_set():
                return
            if cursor is not None and status != 0:
                self.log(f"warning: journald input: journalctl refused the cursor ({errors or status}); the entries "
                         "it named are gone (vacuumed?): reading from the oldest entry")  # fmt: skip
                cursor = None
                continue
            self.log(f"warning: journald input: journalctl ended ({errors or status}); starting it again in 5s")
            self.stopping.wait(5)
            cursor = self.cursors.get(self.key)

    def _check_resume(self, saved: str, first: str) -> None:
        """journalctl resumes after a cursor whose entry is gone by its time: say so, entries may be missing."""
        if _seqnum_id(saved) != _seqnum_id(first):
            self.log("warning: journald input: the entry of the saved cursor is no longer in the journal (vacuumed, "
                     "or another journal): reading on from the oldest entry after its time")  # fmt: skip

    # --- the Input protocol (the service's thread) --------------------------------------------------
    def poll(self) -> Iterable[tuple[Any, list[Line]]]:
        lines: list[Line] = []
        with self.lock:
            while len(lines) < TAKE:
                try:
                    entry = self.entries.get_nowait()
                except queue.Empty:
                    break
                cursor = str(entry.get("__CURSOR") or "")
                self.counter += 1
                lines.append(Line(seqnum(cursor), self.counter, render(entry)))
                self.in_flight.append((self.counter, cursor))
        return [(self.origin, lines)] if lines else []

    def confirm(self, end: int) -> None:
        with self.lock:
            cursor = None
            while self.in_flight and self.in_flight[0][0] <= end:
                cursor = self.in_flight.popleft()[1]
            if cursor:
                self.cursors[self.key] = cursor

    def is_open(self, origin: Any) -> bool:
        return not self.stopping.is_set()

    def lagging(self) -> bool:
        return not self.entries.empty()

    def close(self) -> None:
        self.stopping.set()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)
        self.thread.join(timeout=5)


def _seqnum_id(cursor: str) -> str:
    for part in cursor.split(";"):
        if part.startswith("s="):
            return part[2:]
    return ""
