"""`shipper queue` against a real Exim (tests/queue/exim_instance.py): list with frozen mail, stuck mail
explained by its mainlog (exim -bp gives no reason), freeze/thaw and delete for real.

.ci/run unpacks Debian's Exim and sets SHIPPER_REQUIRE_EXIM=1, which turns a missing Exim into a failure."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, require_real
from tests.queue.exim_instance import EximInstance, available


@pytest.fixture(scope="module")
def exim() -> Iterator[EximInstance]:
    require_real("Exim", available(), "SHIPPER_REQUIRE_EXIM")
    root = Path(tempfile.mkdtemp(prefix="exim-shipper-"))  # .../exim-*/log/mainlog: found by path as Exim's
    root.chmod(0o755)
    instance = EximInstance(root)
    instance.start()
    try:
        instance.submit("carol@example.test", ["someone@closed.test"], "to a closed port")
        instance.submit("news@example.test", ["list@closed.test", "ops@closed.test"], "a list")
        instance.submit("billing@example.test", ["ceo@upstream.test"], "to the upstream")
        for queue_id in instance.queue_ids():  # one delivery attempt each: the log gets the reason
            instance.exim("-M", queue_id)
        yield instance
    finally:
        instance.stop()
        shutil.rmtree(root, ignore_errors=True)


def run(exim: EximInstance, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "shipper", "queue", *args, "--mta", "exim", "--mta-config", str(exim.conf)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=ROOT, env=exim.env())
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def listing(exim: EximInstance) -> dict[str, dict[str, Any]]:
    return {d["sender"]: d for d in map(json.loads, run(exim, "list", "--format", "json").stdout.splitlines())}


def test_list_reads_the_real_exim_queue(exim: EximInstance):
    found = listing(exim)
    assert set(found) == {"carol@example.test", "news@example.test", "billing@example.test"}
    assert [r["address"] for r in found["news@example.test"]["recipients"]] == ["list@closed.test", "ops@closed.test"]
    assert all(d["queue"] == "queued" for d in found.values())


def test_stuck_exim_mail_gets_its_reason_from_the_mainlog(exim: EximInstance):
    out = run(exim, "stuck", "--older-than", "0s", "--logs", str(exim.mainlog), "--format", "json").stdout
    items = {d["sender"]: d for d in map(json.loads, out.splitlines())}
    carol = items["carol@example.test"]
    assert "Connection refused" in carol["reason"] and carol["category"] == "connection refused"
    assert any("<= carol@example.test" in t["line"] for t in carol["trail"])


def test_freeze_and_thaw_for_real(exim: EximInstance):
    run(exim, "hold", "--sender", "news@example.test", "--yes", "--no-audit")
    assert listing(exim)["news@example.test"]["queue"] == "frozen"
    run(exim, "release", "--queue", "frozen", "--yes", "--no-audit")
    assert listing(exim)["news@example.test"]["queue"] == "queued"


def test_delete_for_real(exim: EximInstance):
    before = exim.queue_ids()
    target = listing(exim)["billing@example.test"]["queue_id"]
    done = run(exim, "delete", "--sender", "billing@example.test", "--yes", "--no-audit")
    assert "audit: " in done.stderr and '"action":"queue-delete"' in done.stderr
    assert exim.queue_ids() == before - {target}
    assert f"{target} removed by root" in exim.mainlog.read_text()
