"""The bulk writer without a cluster: the dead-letter event, and giving up on a cluster that never answers."""

from __future__ import annotations

import socket
import time

import orjson
import pytest

from shipper.outputs.base import Record
from shipper.outputs.elasticsearch import BulkWriter
from shipper.schema.contract import contract_errors


def test_dead_letter_keeps_the_event_and_the_error():
    writer = BulkWriter(client=None, settings=None, namespace="ns")  # type: ignore[arg-type]
    original = {
        "@timestamp": "2026-11-28T10:00:00Z",
        "message": "hello",
        "log": {"file": {"path": "/var/log/mail.log"}, "offset": 42},
        "source": {"port": "not a number"},
    }
    event = Record("logs-mail.postfix-ns", "abc", orjson.dumps(original))
    error = {"type": "document_parsing_exception", "reason": "failed to parse field [source.port]",
             "caused_by": {"type": "illegal_argument_exception", "reason": "For input string"}}  # fmt: skip
    letter = writer._dead_letter(event, 400, error)
    doc = orjson.loads(letter.source)
    assert letter.index == "logs-mail.deadletter-ns"
    assert letter.id == "abc"  # a replay dead-letters once
    assert orjson.loads(doc["event"]["original"]) == original
    assert doc["error"]["type"] == "document_parsing_exception"
    assert "For input string" in doc["error"]["message"]
    assert doc["mail"]["deadletter"] == {"index": "logs-mail.postfix-ns", "status": 400}
    assert doc["data_stream"] == {"type": "logs", "dataset": "mail.deadletter", "namespace": "ns"}
    assert doc["log"] == {"file": {"path": "/var/log/mail.log"}, "offset": 42}
    assert doc["message"] == "hello"
    assert contract_errors(doc) == []


def test_an_unreachable_cluster_is_retried_then_reported_failed():
    """Connection refused by a real closed port: retried with growing backoff until retry_for passes
    without progress, then every event of the batch counts as failed, none silently dropped."""
    from shipper.outputs.elasticsearch import BulkSettings
    from tests.conftest import es_connection

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = es_connection([f"http://127.0.0.1:{port}"], environ={}).client()
    waits: list[float] = []
    messages: list[str] = []
    settings = BulkSettings(initial_backoff=0.05, max_backoff=0.2, retry_for=0.5)

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    writer = BulkWriter(client, settings, "ns", sleep=sleep, on_retry=messages.append)
    batch = [Record("logs-mail.postfix-ns", str(i), b'{"message":"x"}') for i in range(3)]
    writer.write(batch)
    assert writer.stats.failed == 3
    assert writer.stats.indexed == 0
    assert waits[:3] == [0.05, 0.1, 0.2] and max(waits) == 0.2  # capped exponential backoff
    assert "connection failed" in messages[0] and "Connection refused" in messages[0]
    assert any("gave up" in e for e in writer.stats.errors)


class RecordingWriter(BulkWriter):
    """The batching layer's view of a writer: which batches it was handed, in order."""

    def __init__(self, settings) -> None:
        super().__init__(client=None, settings=settings, namespace="ns")
        self.batches: list[list[str]] = []

    def write(self, batch: list[Record]) -> None:
        self.batches.append([event.id for event in batch])
        self.stats.indexed += len(batch)


def test_batches_are_bounded_by_count_and_bytes_and_acked_in_order():
    from shipper.outputs.elasticsearch import BulkSettings, ElasticsearchOutput

    writer = RecordingWriter(BulkSettings(max_docs=3, max_bytes=1000))
    acked: list[tuple[list[str], object]] = []
    output = ElasticsearchOutput(writer, ack=lambda batch: acked.append(([e.id for e in batch], batch[-1].token)))
    small = [Record("i", f"s{n}", b"{}") for n in range(7)]
    big = [Record("i", f"b{n}", b'{"m":"' + b"x" * 400 + b'"}') for n in range(3)]
    for n, event in enumerate(small + big):
        event.token = n
        output.add(event)
    stats = output.close()
    assert writer.batches == [["s0", "s1", "s2"], ["s3", "s4", "s5"], ["s6", "b0"], ["b1", "b2"]]
    assert [ids for ids, _ in acked] == writer.batches
    assert [token for _, token in acked] == [2, 5, 7, 9]  # each event's token comes back with its batch
    assert stats.indexed == 10


def test_a_failing_writer_surfaces_its_error_to_the_producer():
    from shipper.outputs.elasticsearch import BulkSettings, ElasticsearchOutput

    class Broken(RecordingWriter):
        def write(self, batch: list[Record]) -> None:
            raise RuntimeError("cluster said no")

    output = ElasticsearchOutput(Broken(BulkSettings(max_docs=1, queue_batches=1)))
    with pytest.raises(RuntimeError, match="cluster said no"):
        for n in range(50):  # the sender keeps draining after the failure: the producer never blocks
            output.add(Record("i", str(n), b"{}"))
        output.close()
