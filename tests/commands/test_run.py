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
