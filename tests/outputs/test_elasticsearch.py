"""The dead-letter event: what it keeps of the refused event, and that it fits the field contract."""

from __future__ import annotations

import orjson

from shipper.outputs.elasticsearch import BulkWriter, Pending
from shipper.schema.contract import contract_errors


def test_dead_letter_keeps_the_event_and_the_error():
    writer = BulkWriter(client=None, settings=None, namespace="ns")  # type: ignore[arg-type]
    original = {
        "@timestamp": "2026-11-28T10:00:00Z",
        "message": "hello",
        "log": {"file": {"path": "/var/log/mail.log"}, "offset": 42},
        "source": {"port": "not a number"},
    }
    event = Pending("logs-mail.postfix-ns", "abc", orjson.dumps(original))
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
