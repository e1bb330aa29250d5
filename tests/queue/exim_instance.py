"""A throw-away Exim (Debian's exim4 4.96, unpacked from its .deb by .ci/run, never installed, so Postfix
stays the system MTA) with scripts/capture/exim.conf and a spool of its own: mail is queued with -odq and
delivery attempts go to loopback ports nobody listens on. Needs root."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.conftest import ROOT

EXIM_BIN = Path(os.environ.get("SHIPPER_EXIM_BIN", "/var/cache/shipper/exim/root/usr/sbin/exim4"))
TRUSTED = Path("/etc/exim4/trusted_configs")  # Exim keeps root only for -C files listed here


class EximInstance:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.conf = root / "exim.conf"
        self.mainlog = root / "log" / "mainlog"
        self.bin = root / "bin"  # `exim` on PATH for shipper, pointing at the unpacked binary

    def start(self) -> None:
        subprocess.run(["useradd", "-r", "-M", "-s", "/usr/sbin/nologin", "Debian-exim"], capture_output=True,
                       check=False)  # fmt: skip
        for sub in ("spool", "log", "mail"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
            shutil.chown(self.root / sub, "Debian-exim", "Debian-exim")
        text = (ROOT / "scripts" / "capture" / "exim.conf").read_text()
        text = text.replace("CAPTURE = /tmp/exim-capture", f"CAPTURE = {self.root}")
        text = text.replace("EXIM = /usr/sbin/exim4", f"EXIM = {EXIM_BIN}")
        self.conf.write_text(text)
        self.conf.chmod(0o644)
        TRUSTED.parent.mkdir(parents=True, exist_ok=True)
        listed = TRUSTED.read_text().splitlines() if TRUSTED.exists() else []
        if str(self.conf) not in listed:
            TRUSTED.write_text("".join(f"{line}\n" for line in [*listed, str(self.conf)]))
        self.bin.mkdir(exist_ok=True)
        (self.bin / "exim").symlink_to(EXIM_BIN)

    def exim(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(EXIM_BIN), "-C", str(self.conf), *args], input=stdin, capture_output=True,
                              text=True, timeout=120, check=False)  # fmt: skip

    def submit(self, sender: str, recipients: list[str], subject: str) -> None:
        done = self.exim("-odq", "-f", sender, *recipients, stdin=f"Subject: {subject}\n\nhello\n")
        assert done.returncode == 0, done.stderr

    def queue_ids(self) -> set[str]:
        return set(re.findall(r"^\s*\S+\s+\S+\s+(\S+) <", self.exim("-bp").stdout, re.M))

    def env(self) -> dict[str, str]:
        return {**os.environ, "PATH": f"{self.bin}:{os.environ.get('PATH', '')}", "ES_URL": ""}

    def stop(self) -> None:
        if TRUSTED.exists():
            kept = [line for line in TRUSTED.read_text().splitlines() if line != str(self.conf)]
            TRUSTED.write_text("".join(f"{line}\n" for line in kept))


def available() -> str | None:
    if os.geteuid() != 0:
        return "needs root (exim -C)"
    if not EXIM_BIN.exists():
        return f"no unpacked Exim at {EXIM_BIN} (.ci/run unpacks Debian's exim4-daemon-light there)"
    return None
