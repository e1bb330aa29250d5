"""`shipper trace` as a user runs it: a message stuck on a smarthost that wants SASL credentials."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

from tests.conftest import ROOT

STUCK = b"""\
Nov 28 09:00:00 mx postfix/pickup[5]: 5E6F7A8B90: uid=33 from=<app@example.com>
Nov 28 09:00:00 mx postfix/cleanup[6]: 5E6F7A8B90: message-id=<order-4711@example.com>
Nov 28 09:00:00 mx postfix/qmgr[1]: 5E6F7A8B90: from=<app@example.com>, size=3021, nrcpt=1 (queue active)
Nov 28 09:00:01 mx postfix/smtp[2]: 5E6F7A8B90: to=<client@example.net>, relay=smtp.sendgrid.net[167.89.115.79]:587, delay=1.1, delays=0.01/0/0.9/0.2, dsn=4.7.0, status=deferred (host smtp.sendgrid.net[167.89.115.79] said: 530 5.7.0 Authentication Required (in reply to MAIL FROM command))
"""
LATER = b"""\
Nov 28 10:10:01 mx postfix/smtp[3]: 5E6F7A8B90: to=<client@example.net>, relay=smtp.sendgrid.net[167.89.115.79]:587, delay=4201, delays=4200/0/0.9/0.2, dsn=4.7.0, status=deferred (host smtp.sendgrid.net[167.89.115.79] said: 530 5.7.0 Authentication Required (in reply to MAIL FROM command))
Nov 28 10:10:02 mx postfix/qmgr[1]: 1A1A1A1A1A: from=<other@example.com>, size=10, nrcpt=1 (queue active)
"""


def test_a_message_stuck_on_a_smarthost_wanting_sasl_is_explained(tmp_path):
    older = tmp_path / "mail.log.1.gz"
    older.write_bytes(gzip.compress(STUCK))
    current = tmp_path / "mail.log"
    current.write_bytes(LATER)
    for query in ("5E6F7A8B90", "<order-4711@example.com>", "client@example.net"):
        done = subprocess.run([sys.executable, "-m", "shipper", "trace", query, str(older), str(current),
                               "--timezone", "UTC", "--reference-date", "2026-11-28"],
                              capture_output=True, text=True, cwd=ROOT)  # fmt: skip
        assert done.returncode == 0, done.stderr
        out = done.stdout
        assert "message 5E6F7A8B90 on mx (postfix): deferred (still in the queue or cut off)" in out
        assert out.count("5E6F7A8B90: to=<client@example.net>") == 2  # both attempts, across both files
        assert "deferred 2 time(s)" in out
        assert "diagnosis: relay authentication" in out
        assert "smtp_sasl_password_maps" in out
        assert "1A1A1A1A1A" not in out


def test_no_match_is_exit_1():
    done = subprocess.run([sys.executable, "-m", "shipper", "trace", "FFFFFFFFFF", "samples/postfix/mail.log"],
                          capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert done.returncode == 1 and "no message matches" in done.stderr


def test_json_from_files_gives_each_message_with_its_lines_and_the_count_goes_to_stderr(tmp_path):
    log = tmp_path / "mail.log"
    log.write_bytes(STUCK + LATER)
    done = subprocess.run([sys.executable, "-m", "shipper", "trace", "5E6F7A8B90", str(log), "--format", "json",
                           "--timezone", "UTC", "--reference-date", "2026-11-28"],
                          capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    (doc,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert doc["email"]["local_id"] == ["5E6F7A8B90"] and doc["mail"]["status"] == "deferred"
    assert [row["queue_id"] for row in doc["lines"]] == ["5E6F7A8B90"] * 5
    assert "1 message(s) match; all shown" in done.stderr
