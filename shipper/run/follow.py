"""The file input of `shipper run`: the tailer, scanned every `scan_interval` and at once when watchdog
sees a file created, deleted or renamed in a followed directory (the interval's stat polling catches
whatever it misses). Appends are found by reading: the service reads again 0.1 s after finding nothing.
Watchdog is not told about writes: a writer appending line by line (rsyslog, 2,000 lines a second) made it
handle an event per write, which cost more CPU than parsing and shipping those lines."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from shipper.pipeline.framing import Line
from shipper.pipeline.inputs import Origin
from shipper.run.config import InputConfig
from shipper.run.tailer import Tailer


class FilesInput:
    def __init__(self, tailer: Tailer, scan_interval: float, wake: threading.Event, log: Callable[[str], None]) -> None:
        self.tailer = tailer
        self.scan_interval = scan_interval
        self.wake = wake  # set by watchdog; the service waits on it when nothing is left to read
        self.log = log
        self.next_scan = 0.0
        self.observer = self._watch()

    def poll(self) -> Iterator[tuple[Origin, list[Line]]]:
        now = time.monotonic()
        if now >= self.next_scan or self.wake.is_set():
            self.wake.clear()
            self.tailer.scan()
            self.next_scan = now + self.scan_interval
        return self.tailer.poll()

    def is_open(self, origin: Origin) -> bool:
        tailer = self.tailer
        return any(h is origin for h in tailer.harvesters.values()) or any(r is origin for r in tailer.compressed)

    def lagging(self) -> bool:
        return self.tailer.lagging()

    def reload(
        self, inputs: list[InputConfig], start_position: str, partial_timeout: float, scan_interval: float
    ) -> None:
        self.tailer.inputs = inputs
        self.tailer.start_position = start_position
        self.tailer.partial_timeout = partial_timeout
        self.scan_interval = scan_interval

    def lag(self) -> list[tuple[str, int, int]]:
        """(path, offset confirmed, size) of each open file."""
        return [(h.path, h.state.offset, h.state.size) for h in list(self.tailer.harvesters.values())]

    def close(self) -> None:
        if self.observer is not None:
            self.observer.stop()
        self.tailer.close()

    def _watch(self) -> Any:
        try:
            from watchdog.events import (
                DirCreatedEvent,
                DirDeletedEvent,
                DirMovedEvent,
                FileCreatedEvent,
                FileDeletedEvent,
                FileMovedEvent,
                FileSystemEventHandler,
            )
            from watchdog.observers import Observer
        except ImportError:  # pragma: no cover - a declared dependency
            return None
        wake = self.wake

        class Wake(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                wake.set()

        structure = [FileCreatedEvent, FileDeletedEvent, FileMovedEvent,
                     DirCreatedEvent, DirDeletedEvent, DirMovedEvent]  # fmt: skip
        observer = Observer()
        for directory in self.tailer.watched_directories():
            if os.path.isdir(directory):
                try:
                    observer.schedule(Wake(), directory, recursive=False, event_filter=structure)
                except OSError as exc:
                    self.log(f"warning: cannot watch {directory} ({exc}); polling it every {self.scan_interval:g}s")
        observer.daemon = True
        observer.start()
        return observer
