"""NDJSON to stdout or a file: one event per line, written synchronously. A batch is acknowledged once
flushed (and, for a file, fsynced), so a registry never runs ahead of what is on disk."""

from __future__ import annotations

import os
import time
from typing import BinaryIO

from shipper.outputs.base import Ack, OutputStats, Record

BATCH_RECORDS = 2000


class NdjsonOutput:
    replaces_documents = False  # an appended line stays: message documents that change are not written here

    def __init__(self, stream: BinaryIO, ack: Ack = lambda records: None, *, sync: bool, owned: bool) -> None:
        self.stream = stream
        self.ack = ack
        self.sync = sync  # fsync each batch (a file)
        self.owned = owned  # closed with the output (a file, not stdout)
        self.batch: list[Record] = []
        self.stats = OutputStats(verb="written")
        self.batch_started = 0.0

    def add(self, record: Record) -> None:
        if not self.batch:
            self.batch_started = time.monotonic()
        self.stream.write(record.source + b"\n")
        self.batch.append(record)
        if len(self.batch) >= BATCH_RECORDS:
            self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        self.stream.flush()
        if self.sync:
            os.fsync(self.stream.fileno())
        documents = sum(record.kind != "line" for record in self.batch)
        self.stats.indexed += len(self.batch) - documents
        self.stats.documents += documents
        self.ack(self.batch)
        self.batch = []

    def batch_age(self) -> float:
        return time.monotonic() - self.batch_started if self.batch else 0.0

    def depth(self) -> int:
        return 1 if self.batch else 0

    def give_up(self) -> None:
        pass  # writes never wait

    def close(self, timeout: float | None = None) -> OutputStats:
        self.flush()
        if self.owned:
            self.stream.close()
        return self.stats
