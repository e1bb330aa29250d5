"""`shipper check-config` and `status` need nothing of the output: not its secrets, not its environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

CONFIG = """\
inputs: [{paths: [logs/*.log]}]
output:
  type: elasticsearch
  hosts: ["${SHIPPER_TEST_UNSET_URL}"]
  password_file: /nonexistent/secret
  username: shipper
registry: {path: state/registry.json}
"""


def shipper(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ES_", "SHIPPER_TEST_"))}
    return subprocess.run([sys.executable, "-m", "shipper", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120, check=False)  # fmt: skip


def test_check_config_and_status_work_without_the_outputs_environment(tmp_path: Path) -> None:
    config = tmp_path / "shipper.yml"
    config.write_text(CONFIG)
    checked = shipper("check-config", "-c", str(config))
    assert checked.returncode == 0, checked.stderr
    assert "output: Elasticsearch" in checked.stdout
    assert "output.hosts[0]: SHIPPER_TEST_UNSET_URL not set here" in checked.stderr
    status = shipper("status", "-c", str(config))
    assert status.returncode == 0, status.stderr
    assert "no files shipped yet" in status.stdout
    ran = shipper("run", "-c", str(config))  # the one command that needs it says so
    assert ran.returncode == 2 and "environment variable SHIPPER_TEST_UNSET_URL is not set" in ran.stderr


def test_a_config_error_outside_the_output_still_fails_check_config(tmp_path: Path) -> None:
    config = tmp_path / "shipper.yml"
    config.write_text(CONFIG.replace("registry:", "scan_interval: ${SHIPPER_TEST_UNSET_SCAN}\nregistry:"))
    checked = shipper("check-config", "-c", str(config))
    assert checked.returncode == 2 and "scan_interval: environment variable SHIPPER_TEST_UNSET_SCAN" in checked.stderr


def _wait(predicate, timeout: float = 30) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_status_says_whether_run_runs_and_shows_a_rotated_file_under_its_new_name(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "mail.log"
    log.write_text("Nov 28 10:00:00 mx postfix/smtpd[1]: connect from a[192.0.2.1]\n")
    config = tmp_path / "shipper.yml"
    config.write_text("inputs: [{paths: [logs/mail.log]}]\noutput: {file: {path: out.ndjson}}\n"
                      "registry: {path: state/registry.json}\nscan_interval: 0.2\nstatus_interval: 0.3\n")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("ES_")}
    run = subprocess.Popen([sys.executable, "-m", "shipper", "run", "-c", str(config)], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        out = tmp_path / "out.ndjson"
        _wait(lambda: out.exists() and out.read_text().count("\n") == 1)
        second = shipper("run", "-c", str(config))  # the same registry: refused, the first goes on
        assert second.returncode != 0 and f"another shipper run (pid {run.pid}) uses this registry" in second.stderr
        log.rename(tmp_path / "logs" / "mail.log.1")
        log.write_text("Nov 28 10:00:05 mx postfix/smtpd[1]: connect from b[192.0.2.2]\n")
        _wait(lambda: out.read_text().count("\n") == 2)
        _wait(lambda: "mail.log.1" in shipper("status", "-c", str(config)).stdout)
        status = shipper("status", "-c", str(config))
        assert status.returncode == 0, status.stderr
        assert f"shipper run: running (pid {run.pid}, since " in status.stdout
        assert "last shipped: " in status.stdout
        rows = [line for line in status.stdout.splitlines() if "mail.log" in line]
        assert len(rows) == 2 and len({row.split()[-1] for row in rows}) == 2  # not the same path twice
        assert any(f"mail.log.1 (was {log})" in row for row in rows)
    finally:
        run.terminate()
        run.wait(30)
    assert "shipper run: not running on this registry" in shipper("status", "-c", str(config)).stdout
    log_text = run.stderr.read() if run.stderr else ""
    assert "written 2 lines and 0 message/queue documents" in log_text  # a file is written, not indexed
