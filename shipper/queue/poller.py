"""The periodic queue input of `shipper run`: a thread that reads the queue every `interval` and hands the
snapshot's documents to the service loop, so a slow `postqueue` never holds up the log lines."""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Callable
from datetime import datetime

import orjson

from shipper.outputs.base import Record
from shipper.queue.model import QueueError
from shipper.queue.mta import choose, read_live
from shipper.queue.snapshot import snapshot_docs


class QueuePoller:
    def __init__(self, mta: str, mta_config: str | None, interval: float, namespace: str, host: str | None,
                 log: Callable[[str], None]) -> None:  # fmt: skip
        self.mta, self.mta_config, self.interval = mta, mta_config, interval
        self.index = f"metrics-mail.queue-{namespace}"
        self.namespace, self.host, self.log = namespace, host, log
        self.ready: queue.Queue[list[Record]] = queue.Queue(maxsize=2)  # at most two snapshots waiting
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="queue-input", daemon=True)
        self.failing = False
        self.skipped: set[str] = set()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()

    def take(self) -> list[Record]:
        """The documents of the snapshots taken since the last call."""
        out: list[Record] = []
        while True:
            try:
                out += self.ready.get_nowait()
            except queue.Empty:
                return out

    def _loop(self) -> None:
        while not self.stopping.is_set():
            self.poll_once()
            self.stopping.wait(self.interval)

    def poll_once(self) -> None:
        try:
            mta = choose(self.mta)
            now = datetime.now().astimezone()
            listing = read_live(mta, self.mta_config, now)
            docs = snapshot_docs(listing, mta.name, self.namespace, now, self.host)
        except (ValueError, OSError, QueueError) as exc:
            if not self.failing:  # said once per outage, not every interval
                self.log(f"warning: queue input: {exc}")
            self.failing = True
            return
        if self.failing:
            self.log("queue input: reading the queue again")
        self.failing = False
        skipped = set(listing.skipped)
        for problem in sorted(skipped - self.skipped):  # each unreadable entry said once, not every interval
            self.log(f"warning: queue input: {problem}")
        self.skipped = skipped
        batch = [Record(self.index, uuid.uuid4().hex, orjson.dumps(d), kind="document") for d in docs]
        try:
            self.ready.put(batch, timeout=self.interval)
        except queue.Full:
            self.log("warning: queue input: the output is behind; a queue snapshot was dropped")
