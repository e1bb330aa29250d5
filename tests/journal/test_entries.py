"""Journal entries rendered as the lines the pipeline reads, and the journalctl command an input runs."""

from __future__ import annotations

from types import SimpleNamespace

from shipper.journal.entries import render, seqnum
from shipper.journal.journal_input import journalctl_command, registry_key
from shipper.parse.parser import Parser

ENTRY = {
    "__REALTIME_TIMESTAMP": "1795950385123456", "_HOSTNAME": "mx1", "SYSLOG_IDENTIFIER": "postfix/smtpd",
    "_PID": "4101", "PRIORITY": "4", "SYSLOG_FACILITY": "2",
    "MESSAGE": "warning: hostname x.example does not resolve to address 192.0.2.9",
    "__CURSOR": "s=6fc4;i=1a;b=0123;m=3e8;t=6616848bf6808;x=eb10",
}  # fmt: skip


def test_an_entry_parses_as_the_line_rsyslog_would_have_written():
    fields = Parser(timezone="UTC").parse(render(ENTRY).decode()).fields
    assert fields["@timestamp"] == "2026-11-29T11:06:25.123456Z"  # the journal's microseconds kept
    assert (fields["host.hostname"], fields["process.name"], fields["process.pid"]) == ("mx1", "postfix/smtpd", 4101)
    assert (fields["log.syslog.facility.name"], fields["log.syslog.severity.name"]) == ("mail", "warning")
    assert fields["event.dataset"] == "mail.postfix" and fields["source.ip"] == "192.0.2.9"


def test_binary_messages_missing_fields_and_odd_identifiers_still_render():
    entry = {"__REALTIME_TIMESTAMP": "0", "MESSAGE": list(b"bin\xffary"), "_COMM": "my prog"}
    line = render(entry).decode()
    assert line.startswith("1970-01-01T00:00:00.000000+00:00 - my_prog: bin")  # no PRI without PRIORITY
    fields = Parser(timezone="UTC").parse(line).fields
    assert fields["process.name"] == "my_prog"


def test_the_cursor_gives_the_entrys_sequence_number():
    assert seqnum(ENTRY["__CURSOR"]) == 0x1A
    assert seqnum("garbage") == 0


def test_the_command_names_every_filter_and_resumes_after_the_cursor():
    settings = SimpleNamespace(directory="/j", files=[], units=["postfix@-.service"], identifiers=["sshd"],
                               matches=["_TRANSPORT=syslog"])  # fmt: skip
    command = journalctl_command(settings, cursor="s=1;i=2", follow=True)
    assert "--no-tail" in journalctl_command(settings, cursor=None, follow=True)  # not just the last ten
    assert "--lines=0" in journalctl_command(settings, cursor=None, follow=True, from_end=True)
    assert command[1:] == ["-o", "json", "--no-pager", "--follow", "--no-tail", "--after-cursor=s=1;i=2",
                           "--directory=/j", "--unit=postfix@-.service", "--identifier=sshd",
                           "_TRANSPORT=syslog"]  # fmt: skip
    assert registry_key(settings) == registry_key(SimpleNamespace(**vars(settings)))
    assert registry_key(settings) != registry_key(SimpleNamespace(**{**vars(settings), "units": []}))
