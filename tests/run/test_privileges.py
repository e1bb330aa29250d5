"""shipper as docs/security.md says to run it: an unprivileged account that reads the logs through group
adm (Debian's /var/log/mail.log is root:adm 0640) and owns nothing but its state directory. Real processes
with real uids (setpriv), so the kernel, not the test, says what may be read."""

from __future__ import annotations

import grp
import json
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

NOBODY = 65534
SOURCE_DIRS = ("shipper", "grok_patterns", "index_templates")


@pytest.fixture
def site():
    if os.getuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run as another account")
    top = Path(tempfile.mkdtemp(prefix="shipper-priv-", dir="/tmp"))  # pytest's tmp_path is root-only
    top.chmod(0o755)
    logs, state = top / "log", top / "state"
    logs.mkdir(mode=0o750)
    state.mkdir(mode=0o700)
    os.chown(logs, 0, grp.getgrnam("adm").gr_gid)
    os.chown(state, NOBODY, NOBODY)
    log = logs / "mail.log"
    log.write_text("".join(f"Nov 28 10:00:{n:02d} mx postfix/qmgr[1]: 4F9D2E3A{n:02d}: removed\n" for n in range(20)))
    log.chmod(0o640)
    os.chown(log, 0, grp.getgrnam("adm").gr_gid)
    yield top
    shutil.rmtree(top)  # the bind mounts lived in the namespace of the process that made them


def as_shipper(site: Path, *args: str, groups: str = "adm") -> subprocess.Popen[bytes]:
    """`shipper ARGS` as uid/gid nobody with only `groups`. The interpreter, its site-packages or this
    checkout may live where nobody cannot look (pyenv under /root, a clone in a 0700 temporary directory):
    then they are bind-mounted into `site`, in a mount namespace of this process alone, and run from there."""
    setpriv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--inh-caps=-all"]
    setpriv += [f"--groups={grp.getgrnam(groups).gr_gid}"] if groups else ["--clear-groups"]
    python = Path(sys.executable).resolve()
    base, packages = Path(sys.base_prefix).resolve(), Path(sysconfig.get_paths()["purelib"]).resolve()
    probe = subprocess.run([*setpriv, str(python), "-c", "import typer, shipper.cli"], capture_output=True, cwd="/")
    if probe.returncode == 0:
        command = [*setpriv, str(python), "-m", "shipper", *args]
    else:
        if not python.is_relative_to(base):
            pytest.skip(f"cannot give {python} to an unprivileged account")
        # the checkout's package and data directories, not the checkout (whose own mode may shut nobody out)
        views = {"py": base, "packages": packages} | {f"src/{d}": ROOT / d for d in SOURCE_DIRS}
        for name in views:
            (site / name).mkdir(parents=True, exist_ok=True)
        mounts = " && ".join(f"mount --bind {shlex.quote(str(path))} {site / name}" for name, path in views.items())
        view = site / "py" / python.relative_to(base)
        run = shlex.join([*setpriv, str(view), "-m", "shipper", *args])
        libs = f"LD_LIBRARY_PATH={site / 'py' / 'lib'}"  # libpython beside it, not the system's
        path = f"PYTHONPATH={site / 'src'}:{site / 'packages'}"  # this checkout before the editable install's link
        command = ["unshare", "-m", "sh", "-c", f"{mounts} && cd / && {libs} {path} exec {run}"]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_an_unprivileged_account_in_group_adm_ships_the_logs(site):
    out, registry = site / "state" / "events.ndjson", site / "state" / "registry.json"
    config = site / "state" / "shipper.yml"
    config.write_text(json.dumps({
        "inputs": [{"paths": [str(site / "log" / "mail.log*")]}], "output": {"file": {"path": str(out)}},
        "registry": {"path": str(registry)}, "timezone": "UTC", "scan_interval": "200ms",
    }))  # fmt: skip
    os.chown(config, NOBODY, NOBODY)
    process = as_shipper(site, "run", "-c", str(config))
    deadline = time.monotonic() + 60
    while (not out.exists() or out.read_bytes().count(b"\n") < 20) and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err.decode()
    assert out.read_bytes().count(b"\n") == 20
    assert (stat.S_IMODE(out.stat().st_mode), stat.S_IMODE(registry.stat().st_mode)) == (0o640, 0o600)
    assert out.stat().st_uid == NOBODY


@pytest.mark.parametrize("command", ["parse", "report", "transactions"])
def test_without_the_group_the_log_is_refused_in_one_line(site, command):
    process = as_shipper(site, command, str(site / "log" / "mail.log"), groups="")
    _, err = process.communicate(timeout=60)
    lines = [line for line in err.decode().splitlines() if line.startswith("error:") or "Traceback" in line]
    assert process.returncode == 1 and len(lines) == 1, err.decode()
    assert "Permission denied" in lines[0] and "Traceback" not in err.decode()
