"""A stop that cannot finish (an output that never returns) is forced after shutdown_timeout + STUCK_AFTER:
every thread's stack is written to stderr and the process exits 1, rather than hang until systemd kills it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT

SCRIPT = """
import sys, time
from shipper.outputs.ndjson import NdjsonOutput
from shipper.run.config import RunConfig
from shipper.run.service import Service

class Stuck(NdjsonOutput):
    def close(self, timeout=None):
        time.sleep(3600)  # an output that never gives its final word

config = RunConfig.model_validate({
    "inputs": [{"paths": [sys.argv[1]]}], "output": {"type": "stdout"},
    "registry": {"path": sys.argv[2]}, "shutdown_timeout": "1s",
})
service = Service(config, None, log=lambda m: print(m, file=sys.stderr, flush=True))
print("ready", file=sys.stderr, flush=True)
service.run(output=lambda ack: Stuck(sys.stdout.buffer, ack, sync=False, owned=False))
"""


def test_a_stop_that_hangs_is_forced_with_every_threads_stack(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_text("Nov 28 10:00:00 mx postfix/smtpd[7]: connect from a.example[192.0.2.1]\n")
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, str(log), str(tmp_path / "r.json")], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert process.stderr is not None
    assert process.stderr.readline().strip() == "ready"
    time.sleep(1.0)
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = process.wait(60)
    err = process.stderr.read()
    assert code == 1, err
    assert "still stopping" in err and "in close" in err  # where it hung, named
    assert time.monotonic() - started < 30
