"""Bulk output to Elasticsearch: batches, retries, dead letters, acknowledgements.

Each event arrives with its target data stream and a deterministic `_id`, and is written with
op_type=create: a replay of the same input creates nothing new (409 counts as already indexed).
A batch is acknowledged only when every event in it has a final outcome:

- indexed (201) or already present (409);
- refused for good (a 400-class error: a mapping conflict, a strict-mapping violation): written to the
  dead-letter data stream `logs-mail.deadletter-<namespace>` with the event as JSON and the error;
- 429 and 5xx items, a 5xx or 429 response, a connection error or timeout: retried with capped
  exponential backoff until `retry_for` seconds pass without progress, then reported failed.

A batch is one `_bulk` request of lines serialized when they were parsed. The client's `bulk` is called
directly rather than through helpers.streaming_bulk: the helper re-chunks every action and walks every item
of the answer in Python, a fifth of this thread's time, where an answer without `errors` needs no walk;
its own retries of 429 items are the loop below.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from queue import Empty, Full, Queue
from typing import Any

import orjson

from shipper.core.timefmt import now_iso
from shipper.elastic.connection import describe_error
from shipper.outputs.base import Ack, Interrupted, OutputStats, Record

DEADLETTER_DATASET = "mail.deadletter"


@dataclass(frozen=True)
class BulkSettings:
    max_docs: int = 2000
    max_bytes: int = 8 * 1024 * 1024
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    retry_for: float | None = 600.0  # None: forever (a long-running shipper)
    queue_batches: int = 4  # batches waiting for the sender: bounds memory, pushes back on the reader


RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
BULK_RESPONSE_FIELDS = ["errors", "items.*.status", "items.*.error"]  # the answer names what is read


class BulkWriter:
    """Writes batches synchronously; `ElasticsearchOutput` runs it on a thread."""

    def __init__(
        self,
        client: Any,
        settings: BulkSettings,
        namespace: str,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.deadletter_index = f"logs-{DEADLETTER_DATASET}-{namespace}"
        self.namespace = namespace
        self.stats = OutputStats()
        self.abort = threading.Event()  # set to give up waiting for the cluster (shutdown)
        self.sleep = sleep if sleep is not time.sleep else self._sleep
        self.on_retry = on_retry

    def _sleep(self, seconds: float) -> None:
        if self.abort.wait(seconds):
            raise Interrupted("shutting down while Elasticsearch was being retried")

    def write(self, batch: list[Record]) -> None:
        """Give every event in the batch a final outcome (see module doc)."""
        refused = self._send(batch, allow_deadletter=True)
        if refused:
            letters = [self._dead_letter(event, status, error) for event, status, error in refused]
            for _event, status, error in self._send(letters, allow_deadletter=False):
                self.stats.failed += 1
                self.stats.note(f"dead letter refused too ({status}): {_error_text(error)}")

    def _send(self, batch: list[Record], allow_deadletter: bool) -> list[tuple[Record, int, Any]]:
        """Send until each event is indexed, present, or refused for good; return the refused ones."""
        from elasticsearch import ApiError, ConnectionError, ConnectionTimeout

        primary = int(allow_deadletter)  # dead letters are not counted as indexed events
        todo = batch
        refused: list[tuple[Record, int, Any]] = []
        backoff = self.settings.initial_backoff
        last_progress = time.monotonic()
        while todo:
            done: set[str] = set()
            retry_later: list[Record] = []
            try:
                answer = self.client.bulk(operations=_body(todo), filter_path=BULK_RESPONSE_FIELDS)
                # items come in the order sent; with no errors every one was created (or replaced)
                items = answer.get("items") or [] if answer.get("errors") else []
                for event, item in zip(todo, items, strict=False):
                    info = next(iter(item.values()))
                    status = info.get("status", 0)
                    if status < 300:
                        continue
                    done.add(event.id)
                    if status == 409:
                        self.stats.already_present += primary
                    elif status in RETRYABLE_STATUS:
                        retry_later.append(event)
                    else:
                        refused.append((event, status, info.get("error")))
                        if primary:  # ES quotes the offending value: a long one would flood the terminal
                            self.stats.note(f"refused ({status}): {_error_text(info.get('error'))[:500]}")
                # what is not in `done` was created
                created = len(todo) - len(done)
                documents = sum(e.kind != "line" for e in todo if e.id not in done)
                self.stats.indexed += (created - documents) * primary
                self.stats.documents += documents * primary
                if created or len(done) > len(retry_later):
                    last_progress = time.monotonic()
                    backoff = self.settings.initial_backoff
                todo = retry_later
                if not todo:
                    break
                problem = f"{len(todo)} events got 429/5xx"
            except (ConnectionError, ConnectionTimeout) as exc:
                problem = f"connection failed: {describe_error(exc)}"
                todo = _unsettled(todo, done, retry_later)
            except ApiError as exc:
                if exc.status_code not in RETRYABLE_STATUS:
                    raise
                problem = f"Elasticsearch answered {describe_error(exc)}"
                todo = _unsettled(todo, done, retry_later)
            limit = self.settings.retry_for
            if limit is not None and time.monotonic() - last_progress > limit:
                self.stats.failed += len(todo)
                self.stats.note(f"gave up after {limit:.0f}s without progress: {problem}")
                break
            self.stats.retries += 1
            self.on_retry(f"{problem}; retrying {len(todo)} events in {backoff:.1f}s")
            self.sleep(backoff)
            backoff = min(backoff * 2, self.settings.max_backoff)
        if allow_deadletter:
            self.stats.dead_lettered += len(refused)
        return refused

    def _dead_letter(self, event: Record, status: int, error: Any) -> Record:
        original = orjson.loads(event.source)
        doc: dict[str, Any] = {
            "@timestamp": now_iso(),
            "message": original.get("message") if isinstance(original.get("message"), str) else None,
            "event": {
                "original": event.source.decode("utf-8"),
                "kind": "pipeline_error",
                "dataset": DEADLETTER_DATASET,
            },
            "error": {"type": _error_type(error), "message": _error_text(error)},
            "tags": ["deadletter"],
            "data_stream": {"type": "logs", "dataset": DEADLETTER_DATASET, "namespace": self.namespace},
            "mail": {"deadletter": {"index": event.index, "status": status}},
        }
        log = original.get("log") if isinstance(original.get("log"), dict) else {}
        if isinstance(log.get("file"), dict) and isinstance(log["file"].get("path"), str):
            doc["log"] = {"file": {"path": log["file"]["path"]}}
        if isinstance(log.get("offset"), int):
            doc.setdefault("log", {})["offset"] = log["offset"]
        if doc["message"] is None:
            del doc["message"]
        return Record(self.deadletter_index, event.id, orjson.dumps(doc))


def _body(events: list[Record]) -> bytes:
    """The request body: each event's action line, then its source, serialized already."""
    dumps = orjson.dumps
    parts: list[bytes] = []
    for event in events:
        parts.append(dumps({event.op: {"_index": event.index, "_id": event.id}}))
        parts.append(event.source)
    parts.append(b"")
    return b"\n".join(parts)


def _unsettled(todo: list[Record], done: set[str], retry_later: list[Record]) -> list[Record]:
    """After a failed request: everything without an outcome yet. Events the cluster created before the
    failure, whose success we never heard of, are sent again and come back as already present."""
    again = {event.id for event in retry_later}
    return [event for event in todo if event.id not in done or event.id in again]


def _error_type(error: Any) -> str:
    return str(error.get("type", "unknown")) if isinstance(error, dict) else "unknown"


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        reason = str(error.get("reason", ""))
        cause = error.get("caused_by")
        if isinstance(cause, dict) and cause.get("reason"):
            reason = f"{reason}: {cause['reason']}"
        return f"{error.get('type', 'error')}: {reason}"
    return str(error)


class ElasticsearchOutput:
    """Batches events by count and bytes and writes them on a sender thread through a bounded queue,
    so reading and parsing overlap with Elasticsearch's work and a slow cluster slows the reader down.
    `ack(batch)` runs on the sender thread once the batch has its final outcome, in batch order."""

    replaces_documents = True

    def __init__(self, writer: BulkWriter, ack: Ack = lambda batch: None) -> None:
        self.writer = writer
        self.settings = writer.settings
        self.ack = ack
        self.batch: list[Record] = []
        self.batch_bytes = 0
        self.batch_started = 0.0
        self.interrupt = threading.Event()  # set to stop waiting for room in the queue (shutdown)
        self.closing = threading.Event()  # no more batches: the sender ends once the queue is empty
        self.queue: Queue[list[Record]] = Queue(maxsize=self.settings.queue_batches)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="es-bulk", daemon=True)
        self.thread.start()

    def add(self, event: Record) -> None:
        size = len(event.source) + len(event.id) + len(event.index) + 60
        if self.batch and (
            len(self.batch) >= self.settings.max_docs or self.batch_bytes + size > self.settings.max_bytes
        ):
            self.flush()
        if not self.batch:
            self.batch_started = time.monotonic()
        self.batch.append(event)
        self.batch_bytes += size

    def add_many(self, events: Iterable[Record]) -> None:
        for event in events:
            self.add(event)

    def flush(self) -> None:
        """Hand the current batch to the sender; waits while the queue is full (that is the backpressure)."""
        if not self.batch:
            return
        self._check()
        while True:
            try:
                self.queue.put(self.batch, timeout=0.2)
                break
            except Full:
                if self.interrupt.is_set():
                    raise Interrupted("shutting down while the output queue was full") from None
                self._check()
        self.batch, self.batch_bytes = [], 0

    @property
    def stats(self) -> OutputStats:
        return self.writer.stats

    def give_up(self) -> None:
        """Shutdown deadline: stop waiting for room in the queue and for the cluster."""
        self.interrupt.set()
        self.writer.abort.set()

    def batch_age(self) -> float:
        return time.monotonic() - self.batch_started if self.batch else 0.0

    def depth(self) -> int:
        return self.queue.qsize() + (1 if self.batch else 0)

    def close(self, timeout: float | None = None) -> OutputStats:
        """Send what is left and wait for every batch's outcome (at most `timeout` seconds: then stop
        retrying and return; what was not acknowledged is read again next time)."""
        with contextlib.suppress(Interrupted):
            self.flush()
        self.closing.set()
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.writer.abort.set()
            self.thread.join(5.0)
        if not isinstance(self.error, Interrupted):
            self._check()
        return self.writer.stats

    def _check(self) -> None:
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        """Write batches in order until closed and drained; after a failure, drain without writing so the
        producer never blocks on a dead sender."""
        while True:
            try:
                batch = self.queue.get(timeout=0.1)
            except Empty:
                if self.closing.is_set():
                    return
                continue
            if self.error is not None:
                continue
            try:
                self.writer.write(batch)
                self.ack(batch)
            except BaseException as exc:  # surfaced to the producer on its next flush/close
                self.error = exc
