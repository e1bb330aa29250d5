"""The README's first hour as a mail admin, run as written (files and saved queues; the Elasticsearch steps
are the integration tests' own), with the answers it promises on the real Postfix and Exim captures."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

POSTFIX_LOG = "tests/queue/data/postfix-maillog.log"


def run(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "shipper", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_readme_lists_the_commands_checked_here():
    readme = (ROOT / "README.md").read_text()
    for command in (f"shipper report {POSTFIX_LOG}", f"shipper trace F130399033C {POSTFIX_LOG}",
                    "shipper queue stuck --mta postfix --from tests/queue/data/postfix-p.txt",
                    "shipper queue stuck --mta exim --from tests/queue/data/exim-bp.txt"):  # fmt: skip
        assert command in readme, command


def test_the_report_groups_stuck_mail_and_names_the_held_message():
    report = json.loads(run("report", POSTFIX_LOG, "--format", "json", "--timezone", "UTC"))
    assert (report["messages"]["messages"], report["messages"]["stuck"], report["messages"]["held"]) == (5, 3, 1)
    groups = {g["category"]: g for g in report["stuck"]["groups"]}
    assert set(groups) == {"connection refused", "mailbox server down", "relay authentication", "on hold"}
    (held,) = groups["on hold"]["messages"]
    assert held["queue_ids"] == ["F130399033C"] and held["status"] == "held"
    assert held["held_since"] == "2026-11-29T00:38:59Z" and held["held_by"] == "postfix-qtest/postsuper"
    assert "postsuper -H QUEUE_ID" in groups["on hold"]["hint"]
    assert "smtp_sasl_password_maps" in groups["relay authentication"]["hint"]


def test_trace_tells_the_held_message_as_held():
    out = run("trace", "F130399033C", POSTFIX_LOG, "--timezone", "UTC")
    assert "message F130399033C on queue-test (postfix-qtest): held" in out
    assert "held since 2026-11-29T00:38:59Z by postfix-qtest/postsuper" in out
    assert "postsuper -H F130399033C" in out and "relayhost" not in out


def test_queue_stuck_on_both_mtas():
    postfix = run("queue", "stuck", "--mta", "postfix", "--from", "tests/queue/data/postfix-p.txt", "--logs",
                  POSTFIX_LOG, "--format", "json")  # fmt: skip
    items = {d["queue_id"]: d for d in map(json.loads, postfix.splitlines())}
    assert items["F130399033C"]["reason"] == "on hold since 2026-11-29T00:38:59Z (postfix-qtest/postsuper)"
    assert items["ECD62990339"]["category"] == "relay authentication"
    exim = run("queue", "stuck", "--mta", "exim", "--from", "tests/queue/data/exim-bp.txt", "--logs",
               "samples/exim/debian-mainlog.log", "--older-than", "10m", "--format", "json")  # fmt: skip
    frozen = {d["queue_id"]: d for d in map(json.loads, exim.splitlines())}["1xXSDY-0000Yv-2d"]
    assert frozen["reason"].startswith("frozen since") and "exim -Mt 1xXSDY-0000Yv-2d" in frozen["hint"]
