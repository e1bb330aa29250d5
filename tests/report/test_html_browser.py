"""The HTML report as a browser shows it: Debian's Chromium, headless, at 1366 px (a common laptop screen).
The page must not scroll sideways, whatever the log holds (a 300-character address, a reply without
spaces), and a screenshot must be drawn. The report carries no script: the test adds one to a copy, which
writes what the page measured into the DOM that `--dump-dom` prints."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from shipper.report import html
from tests.mailsim import Simulation
from tests.report.test_build import report_of

PROBE = (
    "<script>const e = document.documentElement; document.body.setAttribute('data-probe', "
    "e.scrollWidth + ' ' + e.clientWidth + ' ' + document.querySelectorAll('details').length);</script>"
)
LONG = "x" * 300
HOSTILE_LINES = [
    f"Nov 28 10:00:00 mx postfix/qmgr[1]: 4AB12CD001: from=<{LONG}@example.org>, size=1, nrcpt=1 (queue active)",
    f"Nov 28 10:00:01 mx postfix/smtp[2]: 4AB12CD001: to=<{LONG}@example.net>, relay=none, delay=1, delays=0/0/1/0, "
    f"dsn=4.4.1, status=deferred (connect to {LONG}.example.net[192.0.2.1]:25: Connection refused)",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("SHIPPER_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is required here (SHIPPER_REQUIRE_CHROMIUM) but not installed")
        pytest.skip("chromium not installed (Debian package chromium)")
    return found


def measure(page: str, tmp_path: Path) -> tuple[int, int, int]:
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE + "</body>"))
    done = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1366,900",
                           "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120)  # fmt: skip
    found = re.search(r'data-probe="(\d+) (\d+) (\d+)"', done.stdout)
    assert found, done.stderr[-2000:]
    scroll, client, folded = map(int, found.groups())
    return scroll, client, folded


def test_a_large_report_fits_1366_px_with_long_tables_folded(tmp_path):
    sim = Simulation(seed=9, hours=10).run(1500)
    report = report_of([line.text for line in sim.lines] + HOSTILE_LINES, sim.end.date(), top=50)
    page = html.render(report)
    scroll, client, folded = measure(page, tmp_path)
    assert client >= 1300 and scroll <= client, (scroll, client)  # no horizontal scrolling
    assert folded >= 3  # the long tables show their first rows
    assert page.index('class="cards"') < page.index("<nav>") < page.index('id="stuck-mail"')  # cards, charts, contents
    shot = tmp_path / "report.png"
    subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1366,1800", f"--screenshot={shot}", (tmp_path / "probe.html").as_uri()],
                   capture_output=True, timeout=120, check=True)  # fmt: skip
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_a_small_report_fits_too(tmp_path):
    page = html.render(report_of(HOSTILE_LINES, date(2026, 11, 28)))
    scroll, client, _ = measure(page, tmp_path)
    assert scroll <= client, (scroll, client)
