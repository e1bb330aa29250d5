"""`shipper report` grand totals against Debian's pflogsumm, run on the same files in the same test.

pflogsumm prints large numbers in k/m units. The comparison runs a copy of the installed script whose
only change is the two thresholds of those units (so it prints exact bytes), and once the script as
installed, whose rounded figures are compared after the same rounding.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLES
from tests.mailsim import Simulation

LABELS = {
    "received": "received", "delivered": "delivered", "forwarded": "forwarded", "deferred": "deferred",
    "bounced": "bounced", "rejected": "rejected", "reject warnings": "reject_warnings", "held": "held",
    "discarded": "discarded", "bytes received": "bytes_received", "bytes delivered": "bytes_delivered",
    "senders": "senders", "sending hosts/domains": "sending_domains", "recipients": "recipients",
    "recipient hosts/domains": "recipient_domains",
}  # fmt: skip
# Every sample pflogsumm can read; varied.log also holds RFC 5424, `<PRI>` and `mail.info:`-prefixed lines,
# which shipper reads and pflogsumm skips.
READABLE = ["postfix/debian-postfix.log", "postfix/mail.log", "postfix/mail-rfc3339.log", "postfix/maillog_file.log"]


def pflogsumm_path() -> Path:
    found = shutil.which("pflogsumm") or "/usr/sbin/pflogsumm"
    if not Path(found).is_file():
        pytest.fail("pflogsumm is not installed (apt-get install pflogsumm); .ci/run installs it")
    return Path(found)


@pytest.fixture(scope="module")
def exact_pflogsumm(tmp_path_factory) -> Path:
    return exact_copy(pflogsumm_path(), tmp_path_factory.mktemp("pflogsumm"))


def exact_copy(pflogsumm: Path, directory: Path) -> Path:
    """pflogsumm printing exact numbers: a copy whose k/m unit thresholds are raised, nothing else changed."""
    script = pflogsumm.read_text()
    patched, count = re.subn(r"^(\$divBy(?:OneK|OneMeg)At\s*=\s*)\d+;", r"\g<1>1e18;", script, flags=re.M)
    assert count == 2, "pflogsumm's unit thresholds moved: update this test"
    path = directory / "pflogsumm-exact"
    path.write_text(patched)
    return path


def pflogsumm_totals(script: Path, files: list[Path]) -> dict[str, tuple[int, str]]:
    done = subprocess.run(["perl", str(script), *map(str, files)], capture_output=True, text=True, check=True)
    section = done.stdout.split("Grand Totals", 1)[1].split("\n\n\n", 1)[0]
    totals: dict[str, tuple[int, str]] = {}
    for match in re.finditer(r"^\s+(\d+)([ km])\s+([a-z /]+?)(?: \(|\n|$)", section, re.M):
        totals[LABELS[match.group(3).strip()]] = (int(match.group(1)), match.group(2))
    deferrals = re.search(r"\((\d+)([ km]?) deferrals\)", section)
    totals["deferrals"] = (int(deferrals.group(1)), deferrals.group(2) or " ") if deferrals else (0, " ")
    assert len(totals) == len(LABELS) + 1, section
    return totals


def shipper_report(files: list[Path], *options: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "shipper", "report", "--format", "json", "--timezone", "UTC", *options,
         *map(str, files)], capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def units(value: int) -> tuple[int, str]:
    """pflogsumm's adj_int_units, then printf's %d."""
    if value > 536870912:
        return int(value / 1048576), "m"
    if value > 524288:
        return int(value / 1024), "k"
    return value, " "


@pytest.fixture(scope="module")
def simulated_log(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sim") / "mail.log"
    path.write_text(Simulation(seed=3, hours=10).run(3000).text())
    return path


@pytest.mark.parametrize("sample", READABLE)
def test_grand_totals_equal_pflogsumm_on_each_sample(sample, exact_pflogsumm):
    files = [SAMPLES / sample]
    expected = {k: v[0] for k, v in pflogsumm_totals(exact_pflogsumm, files).items()}
    got = shipper_report(files, "--reference-date", "2026-11-28")["grand_totals"]
    assert {k: got[k] for k in expected} == expected


def test_grand_totals_equal_pflogsumm_on_a_simulated_log_and_several_files(exact_pflogsumm, simulated_log):
    for files in ([simulated_log], [SAMPLES / "postfix/mail.log", SAMPLES / "postfix/debian-postfix.log"]):
        expected = {k: v[0] for k, v in pflogsumm_totals(exact_pflogsumm, files).items()}
        got = shipper_report(files, "--reference-date", "2026-11-28")["grand_totals"]
        assert {k: got[k] for k in expected} == expected
    assert expected["delivered"] > 100 and expected["deferrals"] > expected["deferred"] > 0


def test_pflogsumm_as_installed_prints_the_same_figures_rounded(simulated_log):
    installed = pflogsumm_totals(pflogsumm_path(), [simulated_log])
    got = shipper_report([simulated_log])["grand_totals"]
    assert {k: units(got[k]) for k in installed} == installed
    assert installed["bytes_received"][1] in ("k", "m")  # the rounding was exercised


def test_one_day_as_pflogsumm_d_counts_it(exact_pflogsumm, simulated_log, tmp_path):
    """`--day` keeps the lines of one local date, as pflogsumm -d does with the date string of each line."""
    day = tmp_path / "jan1.log"
    day.write_text("".join(line for line in simulated_log.open() if line.startswith("Jan  1 ")))
    expected = {k: v[0] for k, v in pflogsumm_totals(exact_pflogsumm, [day]).items()}
    report = shipper_report([simulated_log], "--reference-date", "2026-11-28", "--day", "2026-01-01")
    assert {k: report["grand_totals"][k] for k in expected} == expected
    assert report["first"].startswith("2026-01-01") and report["last"].startswith("2026-01-01")
    assert [d["date"] for d in report["per_day"]] == ["2026-01-01"]
