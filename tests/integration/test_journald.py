"""The journald input of `shipper run` on real journal files (built from export-format entries by Debian's
systemd-journal-remote: no journald runs here) into the real test cluster: every entry once, a restart
resumes after the confirmed cursor, a new journal file (rotation) is read, a `kill -9` duplicates nothing,
and `shipper ingest --journal` backfills the same entries."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import ROOT
from tests.integration.runner import Shipper, indexed, wait_for

REMOTE = next((p for p in ("/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote")
               if os.path.exists(p)), None)  # fmt: skip
if REMOTE is None or shutil.which("journalctl") is None:
    pytestmark = pytest.mark.skipif(
        not os.environ.get("SHIPPER_REQUIRE_JOURNAL"), reason="systemd-journal-remote or journalctl not installed"
    )
    if os.environ.get("SHIPPER_REQUIRE_JOURNAL"):
        raise RuntimeError("systemd-journal-remote and journalctl are required here (SHIPPER_REQUIRE_JOURNAL)")

T0 = 1_795_950_385_000_000  # microseconds


def journal_file(path: Path, first: int, count: int) -> None:
    """A real journal file of Postfix and sshd entries `first`..`first+count-1`."""
    entries = []
    for i in range(first, first + count):
        program, message = (
            ("postfix/smtpd", f"connect from host{i}.example[192.0.2.{i % 250 + 1}]") if i % 2
            else ("sshd", f"Failed password for root from 198.51.100.{i % 250 + 1} port {1000 + i} ssh2")
        )  # fmt: skip
        entries.append("".join(f"{k}={v}\n" for k, v in (
            ("__REALTIME_TIMESTAMP", T0 + i * 1000), ("__MONOTONIC_TIMESTAMP", 1000 + i),
            ("_BOOT_ID", "0123456789abcdef0123456789abcdef"), ("_HOSTNAME", "mx1"), ("SYSLOG_IDENTIFIER", program),
            ("_PID", 100 + i), ("PRIORITY", 6), ("SYSLOG_FACILITY", 2), ("MESSAGE", message),
        )) + "\n")  # fmt: skip
    export = path.with_suffix(".export")
    export.write_text("".join(entries))
    assert REMOTE is not None
    subprocess.run([REMOTE, f"--output={path}", str(export)], check=True, capture_output=True)
    export.unlink()


def journal_shipper(tmp: Path, es_url: str, namespace: str, directory: Path) -> Shipper:
    output = {"elasticsearch": {"hosts": [es_url], "namespace": namespace, "setup": True, "batch_size": 200,
                                "request_timeout": "3s", "max_backoff": "500ms"}}  # fmt: skip
    return Shipper(tmp, es_url, namespace, [], inputs=[{"type": "journald", "directory": str(directory)}],
                   output=output)  # fmt: skip


def test_entries_once_across_restart_rotation_and_kill_9(es, es_url, run_ns, tmp_path):
    journals = tmp_path / "journal"
    journals.mkdir()
    journal_file(journals / "first.journal", 0, 400)
    shipper = journal_shipper(tmp_path, es_url, run_ns, journals)
    try:
        shipper.start()
        assert wait_for(es, shipper, 400) == 400, shipper.log()[-3000:]
        assert shipper.stop() == 0
        registry = orjson.loads((tmp_path / "registry.json").read_bytes())
        assert [c for c in registry["cursors"].values()]  # the confirmed cursor is kept
        journal_file(journals / "second.journal", 400, 300)  # a new journal file while shipper was down
        shipper.start()
        assert wait_for(es, shipper, 700) == 700, shipper.log()[-3000:]
        time.sleep(1)
        shipper.kill9()  # some entries may be unconfirmed: read again, the same documents
        journal_file(journals / "third.journal", 700, 100)
        shipper.start()
        assert wait_for(es, shipper, 800) == 800, shipper.log()[-3000:]
        time.sleep(3)
        assert indexed(es, run_ns) == 800
        assert shipper.stop() == 0
    finally:
        if shipper.alive():
            shipper.kill9()
    hit = es.search(index=f"logs-mail.*-{run_ns}", query={"term": {"process.name": "sshd"}}, size=1)
    source: dict[str, Any] = hit["hits"]["hits"][0]["_source"]
    assert source["event"]["dataset"] == "mail.auth.sshd" and source["source"]["ip"].startswith("198.51.100.")
    assert source["host"]["hostname"] == "mx1" and source["log"]["syslog"]["facility"]["name"] == "mail"


def test_a_cursor_journalctl_refuses_is_reported_and_reading_starts_at_the_oldest(es, es_url, run_ns, tmp_path):
    journals = tmp_path / "journal"
    journals.mkdir()
    journal_file(journals / "only.journal", 0, 50)
    shipper = journal_shipper(tmp_path, es_url, run_ns, journals)
    from shipper.journal.journal_input import registry_key
    from shipper.run.config import JournaldInputConfig

    key = registry_key(JournaldInputConfig(type="journald", directory=journals))
    registry = {"version": 1, "files": [], "cursors": {key: "not-a-cursor"}}
    (tmp_path / "registry.json").write_bytes(orjson.dumps(registry))
    try:
        shipper.start()
        assert wait_for(es, shipper, 50) == 50, shipper.log()[-3000:]
        assert "refused the cursor" in shipper.log()
        assert shipper.stop() == 0
    finally:
        if shipper.alive():
            shipper.kill9()


def test_ingest_journal_backfills_the_same_entries(es, es_url, run_ns, tmp_path):
    journals = tmp_path / "journal"
    journals.mkdir()
    journal_file(journals / "one.journal", 0, 120)
    command = [sys.executable, "-m", "shipper", "ingest", "--journal", "--journal-directory", str(journals),
               "--es", es_url, "--namespace", run_ns, "--timezone", "UTC"]  # fmt: skip
    first = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert first.returncode == 0, first.stderr
    again = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert again.returncode == 0, again.stderr
    es.indices.refresh(index=f"logs-mail.*-{run_ns}")
    assert indexed(es, run_ns) == 120  # the second backfill created nothing new
