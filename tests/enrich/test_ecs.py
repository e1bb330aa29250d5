"""ECS completeness of every indexed event: ecs.version, related.*, host.name."""

from __future__ import annotations

from shipper.enrich.ecs import ECS_VERSION, complete
from shipper.parse.packs import load_packs
from shipper.parse.parser import Parser
from shipper.pipeline.context import Frame, InputContext
from shipper.pipeline.emit import Addresser


def test_related_gathers_every_address_account_and_host_once():
    doc = {"host": {"hostname": "mx"}, "source": {"ip": "192.0.2.1", "domain": "client.example"},
           "destination": {"ip": "192.0.2.1", "domain": "unknown"},
           "user": {"name": "bob", "target": {"name": "root"}}}  # fmt: skip
    complete(doc)
    assert doc["ecs"] == {"version": ECS_VERSION}
    assert doc["related"] == {"ip": ["192.0.2.1"], "user": ["bob", "root"], "hosts": ["mx", "client.example"]}


def test_an_event_without_names_gets_no_empty_related():
    doc: dict = {"message": "x"}
    complete(doc)
    assert "related" not in doc and doc["ecs"]["version"] == ECS_VERSION


def _addressed(line: str, addresser: Addresser, peer: str | None = None) -> dict:
    import orjson

    source = "exim" if line.startswith("2026") else None
    doc = Parser(timezone="UTC", source=source).parse_doc(line)[0]
    ctx = InputContext(packs=load_packs(), path=None, identity=b"x", peer=peer)
    frame = Frame(offset=0, end=len(line), raw=line.encode(), text=line, tags=[])
    return orjson.loads(addresser.address(doc, doc["event"]["dataset"], ctx, frame, "2026-11-28T00:00:00Z").source)


LINE = "Nov 28 10:00:00 mx1 postfix/smtpd[1]: connect from client.example[192.0.2.7]"


def test_host_name_on_every_event_run_the_machine_ingest_the_line_s_host_or_the_default():
    assert _addressed(LINE, Addresser("default", host_name="collector"))["host"]["name"] == "collector"
    assert _addressed(LINE, Addresser("default", default_host="here"))["host"]["name"] == "mx1"
    exim = "2026-11-28 10:00:00 1tQ4Sc-0000Bc-Aa Completed"
    assert _addressed(exim, Addresser("default", default_host="here"))["host"] == {"name": "here"}
    event = _addressed(LINE, Addresser("default", default_host="here"))
    assert event["related"] == {"ip": ["192.0.2.7"], "hosts": ["mx1", "client.example"]}
