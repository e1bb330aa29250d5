"""Event addressing for ingestion: ids that survive renaming and compression, data stream names."""

from __future__ import annotations

import gzip
import io
import shutil
from pathlib import Path

import orjson
import pytest

from shipper.core.streams import check_namespace
from shipper.outputs.base import Record
from shipper.pipeline.emit import ParseSettings
from shipper.pipeline.ingest import ingest_inputs
from shipper.pipeline.inputs import open_inputs
from shipper.schema.contract import contract_errors
from tests.conftest import REFERENCE, SAMPLES


class Collecting:
    """Stands in for the output's producer side only: what ingest hands over, before any network."""

    replaces_documents = True

    def __init__(self) -> None:
        self.events: list[Record] = []

    def add(self, event: Record, token: object = None) -> None:
        self.events.append(event)

    def close(self):
        from shipper.outputs.base import OutputStats

        return OutputStats()


def addressed(paths: list[Path], stdin: bytes | None = None, monkeypatch=None) -> list[Record]:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    output = Collecting()
    options = ParseSettings(timezone="UTC", reference=REFERENCE)
    ingest_inputs(open_inputs(paths), options, "test", output)  # type: ignore[arg-type]
    return [e for e in output.events if e.op == "create"]  # line events; transactions are op "index"


def test_every_line_is_addressed_to_its_data_stream_with_file_and_offset():
    path = SAMPLES / "postfix" / "varied.log"
    events = addressed([path])
    raw = path.read_bytes()
    assert len(events) == raw.count(b"\n")
    offset = 0
    for event, line in zip(events, raw.split(b"\n"), strict=False):
        doc = orjson.loads(event.source)
        assert event.index == "logs-mail.postfix-test"
        assert doc["data_stream"] == {"type": "logs", "dataset": "mail.postfix", "namespace": "test"}
        assert doc["log"]["file"]["path"] == str(path.absolute())
        assert doc["log"]["offset"] == offset
        assert doc["event"]["original"] == line.decode()
        assert contract_errors(doc) == []
        offset += len(line) + 1
    assert len({e.id for e in events}) == len(events)


def test_ids_survive_renaming_and_compression(tmp_path):
    original = SAMPLES / "postfix" / "mail.log"
    renamed = tmp_path / "mail.log.1"
    shutil.copy(original, renamed)
    compressed = tmp_path / "mail.log.2.gz"
    compressed.write_bytes(gzip.compress(original.read_bytes()))
    ids = [[e.id for e in addressed([p])] for p in (original, renamed, compressed)]
    assert ids[0] == ids[1] == ids[2]


def test_a_different_file_gets_different_ids(tmp_path):
    other = tmp_path / "other.log"
    data = (SAMPLES / "postfix" / "mail.log").read_bytes()
    other.write_bytes(b"Nov 28 00:00:00 mx postfix/master[1]: daemon started -- version 3.7.11\n" + data)
    assert not {e.id for e in addressed([other])} & {e.id for e in addressed([SAMPLES / "postfix" / "mail.log"])}


def test_stdin_ids_come_from_content_and_position(monkeypatch):
    data = (SAMPLES / "postfix" / "varied.log").read_bytes()
    first = addressed([], stdin=data, monkeypatch=monkeypatch)
    again = addressed([], stdin=data, monkeypatch=monkeypatch)
    assert [e.id for e in first] == [e.id for e in again]
    doc = orjson.loads(first[0].source)
    assert "file" not in doc["log"] and doc["log"]["offset"] == 0


def test_a_line_without_timestamp_gets_the_read_time(tmp_path):
    path = tmp_path / "odd.log"
    path.write_bytes(b"no syslog header at all\n\xff\xfe broken\n")
    events = addressed([path])
    docs = [orjson.loads(e.source) for e in events]
    assert [e.index for e in events] == ["logs-mail.other-test"] * 2
    for doc in docs:
        assert doc["@timestamp"].endswith("Z")
        assert "unparsed" in doc["tags"]
        assert contract_errors(doc) == []


@pytest.mark.parametrize("bad", ["", "Prod", "a-b", "a b", "a:b", "x" * 101])
def test_namespace_follows_the_data_stream_naming_scheme(bad):
    with pytest.raises(ValueError, match="--namespace"):
        check_namespace(bad)
    assert check_namespace("prod_eu1") == "prod_eu1"


def test_delivery_lines_are_enriched_and_transactions_sent_with_stable_ids():
    path = SAMPLES / "postfix" / "mail.log"
    runs = []
    for _ in range(2):
        output = Collecting()
        ingest_inputs(open_inputs([path]), ParseSettings(timezone="UTC", reference=REFERENCE), "test", output)  # type: ignore[arg-type]
        runs.append(output.events)
    transactions = [e for e in runs[0] if e.op == "index"]
    assert transactions and all(e.index == "mail-transactions-test" for e in transactions)
    assert [e.id for e in transactions] == [e.id for e in runs[1] if e.op == "index"]  # re-ingest updates them
    deliveries = [orjson.loads(e.source) for e in runs[0] if e.op == "create" and b'"action":"delivery"' in e.source]
    enriched = [d for d in deliveries if "from" in d.get("email", {})]
    assert len(enriched) >= 0.9 * len(deliveries)  # the log starts in mid-stream: a few lack their from= line
    for doc in enriched:
        assert contract_errors(doc) == []
