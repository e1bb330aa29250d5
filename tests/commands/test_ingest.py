"""`shipper ingest -o`: the documents ingest would index, as NDJSON, with no cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT, SAMPLES


def test_events_on_stdout_stay_pure_ndjson_and_the_summary_goes_to_stderr() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ES_")}
    log = SAMPLES / "postfix" / "mail.log"
    done = subprocess.run([sys.executable, "-m", "shipper", "ingest", str(log), "-o", "-", "--json"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(events) == log.read_bytes().count(b"\n")
    assert all(e["data_stream"]["dataset"].startswith("mail.") and "offset" in e["log"] for e in events)
    summary = json.loads(done.stderr.strip().splitlines()[-1])
    assert summary["lines_read"] == len(events) and summary["indexed"] == len(events)
