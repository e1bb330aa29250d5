"""Whose own file an input is, told by its first lines (shipper/parse/sniff.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipper.parse.packs import PackError, load_pack
from shipper.parse.parser import Parser
from shipper.parse.sniff import detect_by_content
from tests.conftest import SAMPLES


@pytest.fixture(scope="module")
def parser() -> Parser:
    return Parser(timezone="UTC")


def _lines(sample: str) -> list[str]:
    return (SAMPLES / sample).read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize(
    ("sample", "source"),
    [
        ("exim/mainlog.log", "exim"), ("exim/rejectlog.log", "exim"), ("exim/debian-paniclog.log", "exim"),
        ("dovecot/dovecot.log", "dovecot"), ("dovecot/debian-dovecot.log", "dovecot"),
        ("kerio/security.log", "kerio_security"), ("kerio/spam.log", "kerio_spam"),
        ("kerio/config.log", "kerio_config"), ("kerio/antivirus.log", "kerio_antivirus"),
        ("zimbra/mailbox.log", "zimbra_mailbox"), ("zimbra/audit.log", "zimbra_audit"),
        ("zimbra/spamtrain.log", "zimbra_spamtrain"), ("freshclam/freshclam.log", "freshclam"),
    ],
)  # fmt: skip
def test_a_sources_own_file_is_told_by_its_lines(parser: Parser, sample: str, source: str) -> None:
    assert detect_by_content(parser, _lines(sample)) == source
    assert parser.by_path is None  # the parser is left as it was


@pytest.mark.parametrize(
    "sample", ["kerio/mail.log", "qmail/current.log",  # the program their layout implies takes every line
               "postfix/mail.log", "postfix/mail-rfc3339.log", "dovecot/mail.log", "auth/auth.log", "clamav/mail.log",
               "zimbra/zimbra.log", "clamav/clamd.log"],
)  # fmt: skip
def test_a_file_its_programs_read_whole_is_left_to_them(parser: Parser, sample: str) -> None:
    assert detect_by_content(parser, _lines(sample)) is None


def test_lines_that_fit_several_sources_alike_decide_nothing(parser: Parser) -> None:
    # Kerio's debug.log, warning.log and error.log lines share one shape
    assert detect_by_content(parser, _lines("kerio/error.log")) is None
    assert detect_by_content(parser, _lines("kerio/warning.log")) is None


def test_lines_of_another_layout_do_not_count(parser: Parser) -> None:
    # a Kerio pack would take `[2215] text` as a `[component] text` line: not in Kerio's layout
    exim = ["2026-11-28 23:52:47 [2215] daemon_notifier_socket bind: Address already in use"]
    assert detect_by_content(parser, exim) == "exim"


def test_a_mixed_syslog_file_is_not_taken_for_clamavs(parser: Parser) -> None:
    lines = [
        "Nov 28 10:00:00 mx clamd[1]: SelfCheck: Database status OK.",
        "Nov 28 10:00:01 mx kernel: [ 1.0] usb 1-1: new device",
    ]
    assert detect_by_content(parser, lines) is None


def test_nothing_to_tell_from(parser: Parser) -> None:
    assert detect_by_content(parser, []) is None
    assert detect_by_content(parser, ["", "   "]) is None
    assert detect_by_content(parser, ["hello world", "\x00\x01"]) is None


def test_multilog_lines_of_no_pack_are_not_qmails(parser: Parser) -> None:
    event = parser.parse("@4000000063227a320c4f2b3c cached 1 example.com").fields
    assert event["event.dataset"] == "mail.other"
    assert "process.name" not in event
    qmail = parser.parse("@4000000063227a320c4f2b3c status: local 0/10 remote 0/20").fields
    assert qmail["event.dataset"] == "mail.qmail"


def test_a_layout_that_is_not_a_regex_is_a_pack_error(tmp_path: Path) -> None:
    pack = tmp_path / "bad.yml"
    pack.write_text(
        "source: bad\ndataset: mail.bad\ndescription: x\nprograms: 'bad'\nlayout: '(unclosed'\n"
        "rules:\n  - id: a\n    match: 'x'\n    event: {category: [email], type: [info], action: x}\n"
    )
    with pytest.raises(PackError, match="layout"):
        load_pack(pack)
