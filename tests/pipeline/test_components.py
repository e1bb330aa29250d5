"""An input and an output written as test doubles in a few lines each: the interfaces a syslog receiver,
the journal or a new sink implement, plugged into `shipper run` and `shipper ingest` without other changes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import orjson

from shipper.outputs.base import Ack, OutputStats, Record
from shipper.pipeline.emit import ParseSettings
from shipper.pipeline.framing import Framer, Line
from shipper.pipeline.ingest import ingest_inputs
from shipper.run.config import RunConfig
from shipper.run.service import Service

LINES = (
    b"Nov 28 10:00:00 mx postfix/smtpd[7]: connect from a.example[192.0.2.1]\n"
    b"Nov 28 10:00:01 mx postfix/smtpd[7]: disconnect from a.example[192.0.2.1]\n"
)


class Connection:
    """An origin: a name, an identity, and the offsets the output confirmed."""

    path, source, timezone, identity, generation, peer = None, None, None, b"mx.example", 0, None

    def __init__(self) -> None:
        self.confirmed = 0

    def last_write(self) -> float:
        return time.time()

    def confirm(self, end: int) -> None:
        self.confirmed = end


class OnceInput:
    """An input: hands over its bytes, framed, once."""

    def __init__(self, data: bytes) -> None:
        self.origin, self.pending = Connection(), [line for b in Framer().feed(data) for line in b.lines()]

    def poll(self) -> list[tuple[Connection, list[Line]]]:
        batch, self.pending = self.pending, []
        return [(self.origin, batch)] if batch else []

    def is_open(self, origin: object) -> bool:
        return True

    def lagging(self) -> bool:
        return False

    def close(self) -> None:
        pass


class ListOutput:
    """An output: keeps the records and acknowledges each batch at once."""

    replaces_documents = True

    def __init__(self, ack: Ack = lambda records: None) -> None:
        self.ack, self.records, self.batch, self.stats = ack, [], [], OutputStats()

    def add(self, record: Record) -> None:
        self.batch.append(record)

    def flush(self) -> None:
        self.records += self.batch
        self.stats.indexed += len(self.batch)
        self.ack(self.batch)
        self.batch = []

    def batch_age(self) -> float:
        return 0.0

    def depth(self) -> int:
        return len(self.batch)

    def give_up(self) -> None:
        pass

    def close(self, timeout: float | None = None) -> OutputStats:
        self.flush()
        return self.stats


def test_a_new_input_and_a_new_output_plug_into_run(tmp_path: Path) -> None:
    config = RunConfig.model_validate({
        "inputs": [{"paths": [str(tmp_path / "none.log")]}], "output": {"type": "stdout"},
        "registry": {"path": str(tmp_path / "registry.json")}, "timezone": "UTC", "host_name": "collector",
    })  # fmt: skip
    service, source, outputs = Service(config, None, log=lambda m: None), OnceInput(LINES), []

    def output(ack: Ack) -> ListOutput:
        outputs.append(ListOutput(ack))
        return outputs[0]

    thread = threading.Thread(target=service.run, kwargs={"output": output, "inputs": [source]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while source.origin.confirmed < len(LINES) and time.monotonic() < deadline:
        time.sleep(0.05)
    service.stopping.set()
    thread.join(30)
    lines = [r for r in outputs[0].records if r.token is not None]
    assert source.origin.confirmed == len(LINES)  # acknowledged through the token, up to the last line's end
    assert [r.index for r in lines] == ["logs-mail.postfix-default"] * 2
    docs = [orjson.loads(r.source) for r in lines]
    assert [d["log"]["offset"] for d in docs] == [0, LINES.index(b"\n") + 1]
    assert docs[0]["host"]["name"] == "collector" and "file" not in docs[0]["log"]


def test_the_same_output_serves_ingest(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_bytes(LINES)
    output = ListOutput()
    with log.open("rb") as stream:
        summary = ingest_inputs(iter([(log, stream)]), ParseSettings(timezone="UTC"), "default", output)
    assert summary.ok and summary.lines == 2
    assert [r.index for r in output.records if r.op == "create"] == ["logs-mail.postfix-default"] * 2
