"""Memory that holds only what is open: `transactions` and `report` on 10,000 and 50,000 closed messages.

Every message of these logs is received, delivered and removed, so the correlator ends each one and keeps
nothing of it; a closed message kept by mistake costs its Transaction and recipient (about 600 bytes, as
measured by keeping them on purpose), so 40,000 more of them add over 20 MB. `report` keeps one number per
queue ID for the whole run (pflogsumm's message sizes, so a message queued again is not counted twice):
about 155 bytes a message, the one table of its that grows with closed messages (docs/performance.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SMALL, LARGE = 10_000, 50_000


def closed_messages(count: int) -> Iterator[str]:
    """`count` Postfix messages, each received, queued, delivered and removed (50 senders, 40 clients)."""
    for i in range(count):
        qid = f"{i:010X}"
        minute, second = divmod(i % 3600, 60)
        stamp = f"Mar  3 {10 + i // 3600 % 12:02d}:{minute:02d}:{second:02d} mx1"
        user = f"user{i % 50}"
        yield f"{stamp} postfix/smtpd[100]: {qid}: client=client{i % 40}.example.net[192.0.2.{i % 200 + 1}]\n"
        yield f"{stamp} postfix/cleanup[101]: {qid}: message-id=<{i}@example.net>\n"
        size = 1000 + i % 5000
        yield f"{stamp} postfix/qmgr[102]: {qid}: from=<{user}@example.net>, size={size}, nrcpt=1 (queue active)\n"
        yield (f"{stamp} postfix/smtp[103]: {qid}: to=<{user}@example.org>, relay=mx.example.org[198.51.100.7]:25,"
               f" delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok)\n")  # fmt: skip
        yield f"{stamp} postfix/qmgr[102]: {qid}: removed\n"


def peak_rss_kib(command: str, log: Path) -> int:
    """Peak RSS of one run of the command, from its own rusage."""
    argv = [sys.executable, "-m", "shipper", command, "--timezone", "UTC", "--reference-date", "2026-03-04", str(log)]
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, child.stderr.read() if child.stderr else ""
    return usage.ru_maxrss


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    out = {}
    for count in (SMALL, LARGE):
        out[count] = tmp_path_factory.mktemp("memory") / f"closed-{count}.log"
        out[count].write_text("".join(closed_messages(count)))
    return out


def test_transactions_hold_nothing_of_closed_messages(logs: dict[int, Path]) -> None:
    growth = peak_rss_kib("transactions", logs[LARGE]) - peak_rss_kib("transactions", logs[SMALL])
    assert growth < 8 * 1024, f"peak RSS grew {growth} KiB for {LARGE - SMALL} more closed messages"


def test_report_keeps_only_a_size_per_closed_message(logs: dict[int, Path]) -> None:
    growth = peak_rss_kib("report", logs[LARGE]) - peak_rss_kib("report", logs[SMALL])
    per_message = growth * 1024 / (LARGE - SMALL)
    assert per_message < 400, f"peak RSS grew {per_message:.0f} bytes per closed message"
