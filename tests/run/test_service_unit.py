"""The systemd unit in examples/: valid for systemd (`systemd-analyze verify`, offline), and as hardened as
its offline security analysis says (systemd cannot run here: docs/security.md says what was never
exercised under it)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

UNIT = ROOT / "examples" / "shipper.service"


@pytest.fixture
def unit(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    shipper = shutil.which("shipper")
    assert shipper, "the shipper console script is not on PATH"
    path = tmp_path / "shipper.service"  # ExecStart must name an executable that exists here
    path.write_text(UNIT.read_text().replace("/usr/local/bin/shipper", shipper))
    return path


def test_the_unit_verifies(unit, tmp_path):
    """Its Documentation=man:shipper(1) resolves too: verify looks the page up, here from the one the wheel
    installs (docs/shipper.1 into share/man/man1)."""
    manuals = tmp_path / "man"
    (manuals / "man1").mkdir(parents=True)
    (manuals / "man1" / "shipper.1").write_bytes((ROOT / "docs" / "shipper.1").read_bytes())
    env = {**os.environ, "MANPATH": str(manuals)}
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60,
                          env=env)  # fmt: skip
    assert done.returncode == 0 and "shipper.service" not in done.stderr, done.stderr


def test_the_unit_is_hardened(unit):
    done = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(unit)], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    exposure = float(re.search(r"Overall exposure level for \S+: ([\d.]+)", done.stdout)[1])
    assert exposure <= 2.0, done.stdout
    text = UNIT.read_text()
    directives = ("NoNewPrivileges=yes", "ProtectSystem=strict", "ReadOnlyPaths=/var/log", "CapabilityBoundingSet=\n",
                  "User=shipper", "SupplementaryGroups=adm", "StateDirectory=shipper")  # fmt: skip
    assert all(d in text for d in directives)
