"""The service's line handling without a cluster: multiline grouping wired to files, acks and offsets."""

from __future__ import annotations

import io
import time

import orjson

from shipper.outputs.ndjson import NdjsonOutput
from shipper.parse.multiline import Grouper, MultilineSpec
from shipper.pipeline.emit import Addresser, Shipping
from shipper.run.config import RunConfig
from shipper.run.follow import FilesInput
from shipper.run.registry import Registry
from shipper.run.service import Service, acknowledge
from shipper.run.tailer import Tailer
from tests.conftest import run_to_file


def test_grouped_lines_become_one_event_and_the_offset_waits_for_the_group(tmp_path):
    log = tmp_path / "app.log"
    log.write_bytes(b"S one\n  more\nS two\n  tail\n")
    settings = {"output": {"stdout": True}, "inputs": [{"paths": [str(log)], "source": "postfix"}], "timezone": "UTC"}
    config = RunConfig.model_validate(settings)
    service = Service(config, None, log=lambda message: None)
    sink = io.BytesIO()
    output = NdjsonOutput(sink, acknowledge, sync=False, owned=False)
    service.shipping = Shipping(service.pipeline, output, Addresser("default", "shipper-host"), service.correlator)
    tailer = Tailer(config.effective_inputs(), Registry(tmp_path / "r.json"))
    files = FilesInput(tailer, 60.0, service.wake, service.log)
    try:
        tailer.scan()
        for harvester in tailer.harvesters.values():  # this file's pack, as if it declared multi-line events
            service.context(harvester).grouper = Grouper(MultilineSpec(start="^S", timeout="0.2s"))
        for origin, lines in tailer.poll():
            service.ship(origin, lines)
        output.flush()
        first = [orjson.loads(line) for line in sink.getvalue().splitlines()]
        assert [e["event"]["original"] for e in first] == ["S one\n  more"]
        assert "multiline" in first[0]["tags"] and first[0]["host"]["name"] == "shipper-host"
        state = next(iter(tailer.registry.files.values()))
        assert state.offset == len(b"S one\n  more\n")  # the open group is not confirmed yet
        time.sleep(0.25)
        service.flush_groups([files])
        output.flush()
        events = [orjson.loads(line) for line in sink.getvalue().splitlines()]
        assert [e["event"]["original"] for e in events] == ["S one\n  more", "S two\n  tail"]
        assert events[1]["log"]["offset"] == len(b"S one\n  more\n")
        assert state.offset == log.stat().st_size
    finally:
        files.close()


def test_an_inputs_own_timezone_places_its_timestamps(tmp_path):
    line = b"Nov 28 10:00:00 mx postfix/smtpd[7]: connect from a.example[192.0.2.1]\n"
    (tmp_path / "tokyo.log").write_bytes(line)
    (tmp_path / "utc.log").write_bytes(line.replace(b"[7]", b"[8]"))  # files are known by their first line
    settings = {
        "inputs": [{"paths": [str(tmp_path / "tokyo.log")], "timezone": "Asia/Tokyo"},
                   {"paths": [str(tmp_path / "utc.log")]}],
        "registry": {"path": str(tmp_path / "r.json")}, "timezone": "UTC", "scan_interval": "100ms",
    }  # fmt: skip
    events = run_to_file(settings, tmp_path / "events.ndjson", 2, timeout=30)
    stamps = {e["log"]["file"]["path"]: e["@timestamp"] for e in events}
    assert stamps[str(tmp_path / "tokyo.log")].endswith("-11-28T01:00:00Z")
    assert stamps[str(tmp_path / "utc.log")].endswith("-11-28T10:00:00Z")
