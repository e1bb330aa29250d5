"""The service's line handling without a cluster: multiline grouping wired to files, acks and offsets."""

from __future__ import annotations

import io
import time

import orjson

from shipper.ingest import Addresser
from shipper.parse.multiline import MultilineSpec
from shipper.run.config import RunConfig
from shipper.run.registry import Registry
from shipper.run.service import LineOutput, Service, _ack
from shipper.run.tailer import Tailer


def test_grouped_lines_become_one_event_and_the_offset_waits_for_the_group(tmp_path):
    log = tmp_path / "app.log"
    log.write_bytes(b"S one\n  more\nS two\n  tail\n")
    settings = {"output": {"stdout": True}, "inputs": [{"paths": [str(log)], "source": "postfix"}], "timezone": "UTC"}
    config = RunConfig.model_validate(settings)
    service = Service(config, None, log=lambda message: None)
    service.multiline = {"postfix": MultilineSpec(start="^S", timeout="0.2s")}
    sink = io.BytesIO()
    output = LineOutput(sink, _ack, sync=False)
    tailer = Tailer(config.effective_inputs(), Registry(tmp_path / "r.json"))
    addresser = Addresser("default", "shipper-host")
    tailer.scan()
    for source, lines in tailer.poll():
        service._ship(source, lines, addresser, output)
    output.flush()
    first = [orjson.loads(line) for line in sink.getvalue().splitlines()]
    assert [e["event"]["original"] for e in first] == ["S one\n  more"]
    assert "multiline" in first[0]["tags"] and first[0]["host"]["name"] == "shipper-host"
    state = next(iter(tailer.registry.files.values()))
    assert state.offset == len(b"S one\n  more\n")  # the open group is not confirmed yet
    time.sleep(0.25)
    service._flush_groups(tailer, addresser, output)
    output.flush()
    events = [orjson.loads(line) for line in sink.getvalue().splitlines()]
    assert [e["event"]["original"] for e in events] == ["S one\n  more", "S two\n  tail"]
    assert events[1]["log"]["offset"] == len(b"S one\n  more\n")
    assert state.offset == log.stat().st_size
