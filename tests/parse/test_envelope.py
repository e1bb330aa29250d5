"""Every envelope format: timestamp, host, program, pid, message."""

from __future__ import annotations

from datetime import date

import pytest

from shipper.parse.envelope import EnvelopeParser
from shipper.parse.timestamps import TimestampConverter, resolve_timezone


def envelope(line: str, tz: str = "UTC", reference: date = date(2026, 11, 28)):
    return EnvelopeParser(TimestampConverter(resolve_timezone(tz), reference)).parse(line)


@pytest.mark.parametrize(
    ("line", "timestamp", "host", "program", "pid", "message"),
    [
        ("Nov 28 10:00:01 mx1 postfix/smtpd[123]: connect from x[1.2.3.4]", "2026-11-28T10:00:01Z", "mx1",
         "postfix/smtpd", 123, "connect from x[1.2.3.4]"),
        ("Jan  1 16:52:06 magmoz postfix/anvil[15784]: statistics", "2026-01-01T16:52:06Z", "magmoz",
         "postfix/anvil", 15784, "statistics"),
        ("Jan 1 16:52:06 magmoz postfix/anvil[15784]: collapsed day padding", "2026-01-01T16:52:06Z", "magmoz",
         "postfix/anvil", 15784, "collapsed day padding"),
        ("Jan 01 16:52:06 mx postfix/qmgr[7]: maillog_file zero-padded day", "2026-01-01T16:52:06Z", "mx",
         "postfix/qmgr", 7, "maillog_file zero-padded day"),
        ("Jan 01 16:52:06.123456 mx postfix/qmgr[7]: fraction", "2026-01-01T16:52:06.123456Z", "mx",
         "postfix/qmgr", 7, "fraction"),
        ("2026-11-28T10:00:01.123456+07:00 host postfix/smtpd[1]: rfc3339", "2026-11-28T03:00:01.123456Z", "host",
         "postfix/smtpd", 1, "rfc3339"),
        ("2020-03-19T16:16:47.883506+00:00 638fbdd7968d postfix/tlsproxy[26371]: x", "2020-03-19T16:16:47.883506Z",
         "638fbdd7968d", "postfix/tlsproxy", 26371, "x"),
        ("2024-03-24T02:04:32.263Z h exim[8001]: millis zulu", "2024-03-24T02:04:32.263Z", "h", "exim", 8001,
         "millis zulu"),
        ("oct. 02 10:59:54 srvdmz postfix/smtpd[7012]: journalctl fr", "2026-10-02T10:59:54Z", "srvdmz",
         "postfix/smtpd", 7012, "journalctl fr"),
        ("Okt 02 10:59:54 srvdmz postfix/smtpd[7012]: german", "2026-10-02T10:59:54Z", "srvdmz", "postfix/smtpd",
         7012, "german"),
        ("mail.info: Jan  7 14:34:55 postfix/smtpd[301]: s6 no host", "2026-01-07T14:34:55Z", None, "postfix/smtpd",
         301, "s6 no host"),
        ("Dec 12 00:00:03 machinename sendmail[20514]: [ID 801593 mail.info] kBC502520512: to=root",
         "2025-12-12T00:00:03Z", "machinename", "sendmail", 20514, "kBC502520512: to=root"),
        ("Jan  7 14:34:55 host dovecot: imap-login: Login: user=<a>", "2026-01-07T14:34:55Z", "host", "dovecot",
         None, "imap-login: Login: user=<a>"),
        ("Feb 14 18:12:33 2001:db8::1 exim[46483]: ipv6 host", "2026-02-14T18:12:33Z", "2001:db8::1", "exim", 46483,
         "ipv6 host"),
        ("Jan  5 10:00:00 router auth.info sshd[123]: busybox", "2026-01-05T10:00:00Z", "router", "sshd", 123,
         "busybox"),
        ("Jun 27 09:02:22 Dream-Machine-Pro Dream-Machine-Pro sshd[454008]: unifi", "2026-06-27T09:02:22Z",
         "Dream-Machine-Pro", "sshd", 454008, "unifi"),
        ("Mar  3 00:17:22 [sshd]: bracketed", "2026-03-03T00:17:22Z", None, "sshd", None, "bracketed"),
        ("Jun 25 23:53:34 [sshd] no colon", "2026-06-25T23:53:34Z", None, "sshd", None, "no colon"),
        ("Jan  5 10:00:00 router sshd[123] no colon", "2026-01-05T10:00:00Z", "router", "sshd", 123, "no colon"),
        ("Jan  5 2025 10:00:00 host sshd[12]: a year", "2025-01-05T10:00:00Z", "host", "sshd", 12, "a year"),
        ("2025-01-05 10:00:00 host sshd[12]: iso, no zone", "2025-01-05T10:00:00Z", "host", "sshd", 12,
         "iso, no zone"),
        ("Jan  5 10:00:00 <auth.info> host sshd[12]: freebsd -v", "2026-01-05T10:00:00Z", "host", "sshd", 12,
         "freebsd -v"),
        ("Jan  5 10:00:00 host sshd(pam_unix)[1234]: old pam", "2026-01-05T10:00:00Z", "host", "sshd(pam_unix)", 1234,
         "old pam"),
        ("<22>Mar 12 10:00:01 mx4 postfix/smtp[2310]: with pri", "2026-03-12T10:00:01Z", "mx4", "postfix/smtp", 2310,
         "with pri"),
        ("<22>1 2026-03-12T10:00:00.123+01:00 mx4 postfix/qmgr 2291 ID7 - rfc5424", "2026-03-12T09:00:00.123Z", "mx4",
         "postfix/qmgr", 2291, "rfc5424"),
        ("@4000000063a3b2f01c9c3800 new msg 71198", "2022-12-22T01:29:10.480000Z", None, "qmail", None,
         "new msg 71198"),
        ("1054194596.057500 delivery 183: failure: x", "2003-05-29T07:49:56.057500Z", None, None, None,
         "delivery 183: failure: x"),
        ("2003-05-28 00:37:24.417470 delivery 2518: deferral", "2003-05-28T00:37:24.417470Z", None, None, None,
         "delivery 2518: deferral"),
    ],
)  # fmt: skip
def test_formats(line, timestamp, host, program, pid, message):
    env = envelope(line)
    assert env is not None
    assert env.fields()["@timestamp"] == timestamp
    assert env.fields().get("host.hostname") == host
    assert env.program == program
    assert env.fields().get("process.pid") == pid
    assert env.message == message


def test_a_facility_and_severity_between_host_and_program_are_kept():
    env = envelope("Jan  5 10:00:00 router auth.warn sshd[123]: x")
    assert env is not None
    assert env.fields()["log.syslog.facility.name"] == "auth"
    assert env.fields()["log.syslog.severity.name"] == "warning"


def test_a_header_without_a_stamp_keeps_host_program_and_pid():
    env = envelope("mail.example.com exim[3751842]: 2021-07-17 23:20:49 text")
    assert env is not None
    assert (env.timestamp, env.host, env.program, env.pid) == (None, "mail.example.com", "exim", 3751842)
    assert env.message == "2021-07-17 23:20:49 text"
    assert envelope("just some words: and a colon") is None


def test_tai64n_matches_tai64nlocal_convention():
    # 0x4000000063a3b2f0 - 2**62 - 10 = 1671672550 s (01:29:10 UTC); 0x1c9c3800 ns = 480 ms
    assert envelope("@4000000063a3b2f01c9c3800 x").fields()["@timestamp"] == "2022-12-22T01:29:10.480000Z"


def test_rfc5424_priority_and_structured_data():
    env = envelope('<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 [ex@32473 iut="3" ev="A\\"B"] hi')
    assert env.fields()["log.syslog.priority"] == 34
    assert env.fields()["log.syslog.facility.name"] == "auth"
    assert env.fields()["log.syslog.severity.name"] == "crit"
    assert env.fields()["log.syslog.msgid"] == "ID47"
    assert env.fields()["log.syslog.structured_data"] == {"ex@32473": {"iut": "3", "ev": 'A"B'}}
    assert env.program == "su"
    assert "process.pid" not in env.fields()
    assert env.message == "hi"


def test_rfc5424_without_message_or_timestamp():
    env = envelope("<13>1 - host app - - -")
    assert "@timestamp" not in env.fields()
    assert env.message == ""


def test_message_repeated_is_unwrapped():
    env = envelope("Mar 12 09:43:01 mx3 postfix/smtpd[1220]: message repeated 3 times: [ NOQUEUE: reject: x]")
    assert env.message == "NOQUEUE: reject: x"
    assert env.fields()["mail.repeat_count"] == 3
    assert env.program == "postfix/smtpd"


def test_zone_applies_to_zoneless_stamps_with_dst():
    winter = envelope("Jan 15 12:00:00 h p[1]: x", tz="Europe/Berlin")
    summer = envelope("Jul 15 12:00:00 h p[1]: x", tz="Europe/Berlin")
    assert winter.fields()["@timestamp"] == "2026-01-15T11:00:00Z"
    assert summer.fields()["@timestamp"] == "2026-07-15T10:00:00Z"
    assert winter.fields()["event.timezone"] == "Europe/Berlin"
    local_iso = envelope("2026-07-15 12:00:00,250 INFO  [x] y", tz="Europe/Berlin")
    assert local_iso.fields()["@timestamp"] == "2026-07-15T10:00:00.250Z"
    zoned = envelope("2026-07-15T12:00:00+02:00 h p[1]: x", tz="America/New_York")
    assert zoned.fields()["@timestamp"] == "2026-07-15T10:00:00Z"
    assert "event.timezone" not in zoned.fields()


@pytest.mark.parametrize("line", ["", "garbage", "Foo 99 99:99:99 h p: x", "@zzzz", "<999>x", "Feb 30 10:00:00 h p: x"])
def test_no_envelope(line):
    assert envelope(line) is None
