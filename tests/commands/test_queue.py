"""`shipper queue` as an admin runs it on hostile queues: a real subprocess, saved listings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC
from pathlib import Path

from tests.conftest import ROOT

HOSTILE_EXIM = (
    '12m   1.2K 1xXSD6-0000Wm-0Y <"[/]"@evil.example>\n'
    "          [link=https://evil.example/]click me[/link]@evil.example\n\n"
    '5h   480 1xXSD7-0000XH-26 <"x>y"@evil.example> (www-data) *** frozen ***\n'
    '          "a b"@evil.example\n\n'
    "4h   480 1xXSD8-0000XH-26 <\x1b]0;owned\x07\x1b[2J@evil.example>\n"
    "          postmaster@example.test\n\n"
    "garbage that is no entry\n"
    "          its.recipient@example.test\n\n"
    "3h   480 1xXSD9-0000XH-26 <ok@example.test>\n"
    "          postmaster@example.test\n"
)


def queue(*args: str, terminal: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **({"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1", "COLUMNS": "200"} if terminal else {})}
    return subprocess.run(
        [sys.executable, "-m", "shipper", "queue", *args], capture_output=True, text=True, cwd=ROOT, timeout=120,
        check=False, env=env,
    )  # fmt: skip


def test_list_shows_hostile_senders_and_replies_as_plain_text(tmp_path):
    listing = tmp_path / "exim-bp.txt"
    listing.write_text(HOSTILE_EXIM)
    for terminal in (False, True):
        result = queue("list", "--mta", "exim", "--from", str(listing), terminal=terminal)
        assert result.returncode == 0, result.stderr
        assert '"[/]"@evil.example' in result.stdout
        assert "[link=https://evil.example/]click me[/link]@evil.example" in result.stdout
        assert "\x1b]8;" not in result.stdout  # no terminal hyperlink
        assert "\x1b]0;" not in result.stdout and "\x1b[2J" not in result.stdout  # no title or screen control
        assert "\\x1b]0;owned\\x07\\x1b[2J@evil.example" in result.stdout
        assert all(i in result.stdout for i in ("1xXSD6-0000Wm-0Y", "1xXSD7-0000XH-26", "1xXSD9-0000XH-26"))
    assert "exim -bp output, line 10: expected a message or a recipient" in result.stderr
    assert "entry skipped" in result.stderr and "Traceback" not in result.stderr


def test_json_keeps_every_readable_message_exactly(tmp_path):
    listing = tmp_path / "exim-bp.txt"
    listing.write_text(HOSTILE_EXIM)
    result = queue("list", "--mta", "exim", "--from", str(listing), "--format", "json")
    assert result.returncode == 0, result.stderr
    docs = {d["queue_id"]: d for d in map(json.loads, result.stdout.splitlines())}
    assert len(docs) == 4
    assert docs["1xXSD7-0000XH-26"]["sender"] == '"x>y"@evil.example'
    assert docs["1xXSD7-0000XH-26"]["queue"] == "frozen"
    assert [r["address"] for r in docs["1xXSD7-0000XH-26"]["recipients"]] == ['"a b"@evil.example']


def test_stuck_and_a_dry_run_print_no_control_characters(tmp_path):
    listing = tmp_path / "exim-bp.txt"
    listing.write_text(HOSTILE_EXIM)
    stuck = queue("stuck", "--mta", "exim", "--from", str(listing), "--older-than", "1h")
    dry = queue("delete", "--all", "--mta", "exim", "--from", str(listing))
    for result in (stuck, dry):
        assert result.returncode == 0, result.stderr
        assert "\x1b" not in result.stdout and "\\x1b]0;owned" in result.stdout
    assert "1xXSD8-0000XH-26" in dry.stdout and "dry run" in dry.stdout


def test_queue_list_never_breaks_an_address_at_any_width(capsys):
    from datetime import datetime

    from shipper.commands.queue import _print_table
    from shipper.queue.mta import POSTFIX, read_saved

    data = Path(__file__).parents[1] / "queue" / "data" / "postfix-p.txt"
    messages = list(read_saved(POSTFIX, data.read_text(), datetime(2026, 12, 4, tzinfo=UTC)))
    addresses = {m.sender for m in messages} | {r.address for m in messages for r in m.recipients}
    for width in (60, 80, 100, 120, 200):
        _print_table(messages, "postfix queue", width=width)
        out = capsys.readouterr().out
        for address in addresses:
            assert address in out, (width, address)  # whole, on one line


def test_queue_list_plain_is_one_line_per_recipient():
    data = Path(__file__).parents[1] / "queue" / "data" / "postfix-p.txt"
    done = subprocess.run([sys.executable, "-m", "shipper", "queue", "list", "--mta", "postfix", "--from", str(data),
                           "--format", "plain"], capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    assert len(rows) == 6 and all(len(r) == 8 for r in rows)
    assert [rows[3][0], rows[3][6]] == ["E561999033A", "bob@remote.test"] and rows[4][6] == "carol@remote.test"
