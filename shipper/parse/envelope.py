"""The envelope layer: a raw line → timestamp, host, program, pid and the message text.

Formats: BSD/RFC 3164 syslog (optionally `<PRI>`, s6 `fac.sev:` prefix, Solaris `[ID n fac.sev]` tag,
localised month names, Postfix `maillog_file`: `%b %d %H:%M:%S host prog[pid]: [severity: ]text` with a
zero-padded day and the first host label, per Postfix's msg_logger.c), RFC 3339 high-precision (rsyslog),
RFC 5424, multilog TAI64N, `tai64nlocal`/ISO-local timestamps, bare Unix-epoch stamps, ClamAV's own
log files (`Wed Jan 29 16:00:28 2020 -> text`) and Kerio Connect's (`[30/Nov/2005 17:57:14] text`). rsyslog's
`message repeated N times: [ ... ]` is unwrapped into the repeated message and its count.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shipper.parse.timestamps import TimestampConverter, timezone_name

_FACILITY_NAMES = "kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|ntp|security|console|local[0-7]"
_SEVERITY_NAMES = "emerg|panic|alert|crit|err|error|warn|warning|notice|info|debug"
_HEADER_TAIL = (
    r"(?:(?P<host>[^\s\[\]]*[^\s\[\]:]) +(?:(?P=host) +)?)?"  # UniFi writes the host twice
    # BusyBox's syslogd (`-S` off) writes `facility.severity` between the host and the program
    rf"(?:(?P<midfac>{_FACILITY_NAMES})\.(?P<midsev>{_SEVERITY_NAMES}) +)?"
    # `prog[pid]: `, `prog: `, and `prog[pid] ` without the colon (some embedded and old syslogds); a
    # parenthesised part may hold colons (Dovecot 2.4: `auth(alice,192.0.2.1,sasl:login)<sess>: `)
    r"(?P<prog>[A-Za-z_][^\s\[\]:(]*(?:\([^()\s]*\)[^\s\[\]:(]*)*)(?:\[(?P<pid>\d+)\](?:: ?| )|: ?)"
    r"(?:\[ID \d+ (?P<tagfac>[a-z0-9]+)\.(?P<tagsev>[a-z]+)\] )?"
    r"(?P<msg>.*)"
)
_PRI = r"(?:<(?P<pri>\d{1,3})>)?"
_BSD_STAMP = (
    r"(?:(?P<prefac>[a-z0-9]+)\.(?P<presev>[a-z]+): )?"
    r"(?P<stamp>(?P<mon>[^\W\d_]{3,4}\.?) +(?P<day>\d{1,2}) (?:(?P<year>\d{4}) )?"
    r"(?P<clock>\d\d:\d\d:\d\d)(?:\.(?P<frac>\d+))?)"
)
# a zone attached (`+01:00`, `Z`) or after a space (Exim's log_timezone: `2024-01-05 10:00:00 +0100`)
_ISO_STAMP = r"(?P<ts>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:[Zz]|[+-]\d\d:?\d\d| [+-]\d{4}(?= ))?)"

# FreeBSD's syslogd writes `<facility.severity>` after the stamp (`-v`): `Jun 17 14:37:39 <mail.info> host ...`
_POST_STAMP_FACILITY = r"(?:<(?P<postfac>[a-z0-9]+)\.(?P<postsev>[a-z]+)> +)?"
_BSD = re.compile(rf"{_PRI}{_BSD_STAMP} +{_POST_STAMP_FACILITY}{_HEADER_TAIL}", re.S)
# The dominant shape (`Mmm dd hh:mm:ss host prog[pid]: text`) is tried first with a regex three times
# cheaper than _BSD; any line it takes, _BSD would split the same way.
_BSD_COMMON = re.compile(
    r"(?P<stamp>(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) (?P<clock>\d\d:\d\d:\d\d)) "
    r"(?P<host>[^\s\[\]]*[^\s\[\]:]) (?P<prog>[A-Za-z_][^\s\[\]:]*)\[(?P<pid>\d+)\]: (?!\[ID \d)(?P<msg>.*)",
    re.S,
)
# `Mar  3 00:17:22 [sshd]: text`, `[sshd] text`: the program in brackets and no host (some appliances' syslogs)
_BSD_BRACKETED = re.compile(rf"{_PRI}{_BSD_STAMP} +\[(?P<prog>[A-Za-z_][\w./-]*)\]:? (?P<msg>.*)", re.S)
_BSD_NO_PROGRAM = re.compile(rf"{_PRI}{_BSD_STAMP} +(?P<host>[^\s\[\]]+) +(?P<msg>.*)", re.S)
_ISO = re.compile(rf"{_PRI}{_ISO_STAMP} +{_HEADER_TAIL}", re.S)
_ISO_NO_PROGRAM = re.compile(rf"{_PRI}{_ISO_STAMP}(?: +(?P<msg>.*))?", re.S)
_RFC5424 = re.compile(
    r"<(?P<pri>\d{1,3})>(?P<ver>\d{1,2}) (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+) (?P<msgid>\S+) "
    r'(?P<sd>-|(?:\[(?:[^\]"\\]|\\.|"(?:[^"\\]|\\.)*")*\])+)(?: \ufeff?(?P<msg>.*))?',
    re.S,
)
_SD_ELEMENT = re.compile(r'\[(?P<id>[^\s\]=]+)(?P<params>(?: [^\s=\]]+="(?:[^"\\]|\\.)*")*) ?\]')
_SD_PARAM = re.compile(r' ([^\s=\]]+)="((?:[^"\\]|\\.)*)"')
# ClamAV's own log files (clamd.log, freshclam.log, `LogTime yes`): `Wed Jan 29 16:00:28 2020 -> text`. The
# format names its program: such lines go to the ClamAV pack.
_CTIME = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<clock>\d\d:\d\d:\d\d) "
    r"(?P<year>\d{4}) -> (?P<msg>.*)",
    re.S,
)
CTIME_PROGRAM = "clamav"
# Kerio Connect's logs: `[30/Nov/2005 17:57:14] text` (its files are told apart by their names).
_KERIO = re.compile(
    r"\[(?P<day>\d{1,2})/(?P<mon>[A-Z][a-z]{2})/(?P<year>\d{4}) (?P<clock>\d\d:\d\d:\d\d)\] (?P<msg>.*)", re.S
)
KERIO_PROGRAM = "kerio"
# Programs named by the log format rather than by a syslog header: a file whose path names a pack
# (`freshclam.log`) overrides them.
TAI64N_PROGRAM = "qmail"  # multilog's stamps: daemontools services, on a mail host qmail's
# log4j's `%d %-5p [%t] ...` after an ISO stamp: Zimbra's mailboxd on a mail host
_LOG4J = re.compile(r"(?:INFO|WARN|ERROR|DEBUG|FATAL|TRACE) +\[")
LOG4J_PROGRAM = "zimbra"
HINT_PROGRAMS = frozenset({CTIME_PROGRAM, TAI64N_PROGRAM, KERIO_PROGRAM, LOG4J_PROGRAM})
_TAI64N = re.compile(r"@(?P<stamp>[0-9a-fA-F]{24}) (?P<msg>.*)", re.S)
_UNIX = re.compile(r"(?P<stamp>\d{9,10}\.\d+) (?P<msg>.*)", re.S)
# `host prog[pid]: text` with no stamp at all (a relay that drops it): the line carries no time
_UNSTAMPED = re.compile(
    r"(?P<host>[^\s\[\]]*[^\s\[\]:]) (?P<prog>[A-Za-z_][^\s\[\]:]*)\[(?P<pid>\d+)\]: (?P<msg>.*)", re.S
)
_REPEATED = re.compile(r"message repeated (?P<n>\d+) times: \[ ?(?P<msg>.*?) ?\]\s*", re.S)

FACILITIES = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
    "ntp", "security", "console", "solaris-cron", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
)  # fmt: skip
SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
_SEVERITY_ALIASES = {"error": "err", "warn": "warning", "panic": "emerg"}


# (timestamp, zone, host, program, pid, message): the parser's fast path
Plain = tuple[str | None, str | None, str | None, str | None, int | None, str]


class Envelope:
    """What the envelope layer found: timestamp, zone applied, host, program, pid, message, and `extra`
    ECS fields (PRI, facility, repeat count, RFC 5424 parts) when the line had any.

    Envelopes without extras are the ones the parser's compiled fast path handles.
    """

    __slots__ = ("extra", "host", "message", "pid", "program", "timestamp", "zone")

    def __init__(
        self,
        timestamp: str | None,
        zone: str | None,
        host: str | None,
        program: str | None,
        pid: int | None,
        message: str,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.timestamp = timestamp
        self.zone = zone
        self.host = host
        self.program = program
        self.pid = pid
        self.message = message
        self.extra = extra

    def fields(self) -> dict[str, Any]:
        """All envelope fields as dotted names, in a fixed order."""
        fields: dict[str, Any] = {}
        plain = (
            ("@timestamp", self.timestamp),
            ("event.timezone", self.zone),
            ("host.hostname", self.host),
            ("process.name", self.program),
            ("process.pid", self.pid),
        )
        for name, value in plain:
            if value is not None:
                fields[name] = value
        if self.extra:
            fields.update(self.extra)
        return fields


class EnvelopeParser:
    def __init__(self, timestamps: TimestampConverter) -> None:
        self.ts = timestamps
        self.zone_name = timezone_name(timestamps.tz)
        self._stamps: dict[str, str] = {}

    def plain(self, line: str) -> Plain | None:
        """The common case, `Mmm dd hh:mm:ss host prog[pid]: text`, most of every mail log, as a bare tuple
        (timestamp, zone, host, program, pid, message) for the parser's fast path; None for anything else."""
        m = _BSD_COMMON.fullmatch(line)
        if m is None:
            return None
        raw, mon, day, clock, host, prog, pid, msg = m.groups()
        stamp = self._stamps.get(raw) or self._bsd_stamp(raw, mon, day, clock, None, None)
        if stamp is None or msg.startswith("message repeated "):
            return None
        return stamp, self.zone_name, host, prog, int(pid), msg

    def parse(self, line: str) -> Envelope | None:
        plain = self.plain(line)
        if plain is not None:
            return Envelope(*plain)
        first = line[:1]
        if first == "<":
            env = self._rfc5424(line) or self._bsd(line) or self._iso(line)
        elif first == "[":
            env = self._kerio(line)
        elif first == "@":
            env = self._tai64n(line)
        elif first.isdigit():
            env = self._iso(line) or self._unix(line)
        else:
            env = self._bsd(line) or self._ctime(line) or self._unstamped(line)
        if env is not None and env.message.startswith("message repeated "):
            self._unwrap_repeat(env)
        return env

    def _bsd_stamp(self, raw: str, mon: str, day: str, clock: str, frac: str | None, year: str | None) -> str | None:
        stamp = self.ts.bsd(mon, day, clock, frac, year)
        if stamp is not None:
            if len(self._stamps) > 4096:
                self._stamps.clear()
            self._stamps[raw] = stamp
        return stamp

    def _bsd(self, line: str) -> Envelope | None:
        m = _BSD.fullmatch(line)
        if m is not None:
            # Positional groups: no groupdict on this path.
            (pri, prefac, presev, raw, mon, day, year, clock, frac, postfac, postsev, host, midfac, midsev, prog, pid,
             tagfac, tagsev, msg) = m.groups()  # fmt: skip
            stamp = self._stamps.get(raw) or self._bsd_stamp(raw, mon, day, clock, frac, year)
            if stamp is None:
                return None
            extra: dict[str, Any] | None = None
            if pri or tagfac or prefac or postfac or midfac:
                extra = {}
                if pri:
                    self._priority(extra, pri)
                if tagfac:
                    self._facility_severity(extra, tagfac, tagsev)
                if prefac:
                    self._facility_severity(extra, prefac, presev)
                if postfac:
                    self._facility_severity(extra, postfac, postsev)
                if midfac:
                    self._facility_severity(extra, midfac, midsev)
            return Envelope(stamp, self.zone_name, host, prog, int(pid) if pid else None, msg, extra)
        m = _BSD_BRACKETED.fullmatch(line) or _BSD_NO_PROGRAM.fullmatch(line)
        if m is None:
            return None
        g = m.groupdict()
        stamp = self.ts.bsd(g["mon"], g["day"], g["clock"], g["frac"], g["year"])
        if stamp is None:
            return None
        facility: dict[str, Any] = {}
        if g["prefac"]:
            self._facility_severity(facility, g["prefac"], g["presev"])
        return self._from_groups(stamp, self.zone_name, g, facility)

    def _iso(self, line: str) -> Envelope | None:
        m = _ISO.fullmatch(line) or _ISO_NO_PROGRAM.fullmatch(line)
        if m is None:
            return None
        g = m.groupdict()
        stamp, had_zone = self.ts.iso(g["ts"])
        if stamp is None:
            return None
        env = self._from_groups(stamp, None if had_zone else self.zone_name, g, {})
        if env.program is None and _LOG4J.match(env.message):
            env.program = LOG4J_PROGRAM
        return env

    def _rfc5424(self, line: str) -> Envelope | None:
        m = _RFC5424.fullmatch(line)
        if m is None:
            return None
        g = m.groupdict()
        stamp = None
        if g["ts"] != "-":
            stamp, _ = self.ts.iso(g["ts"])
            if stamp is None:
                return None
        extra: dict[str, Any] = {"log.syslog.version": g["ver"]}
        self._priority(extra, g["pri"])
        if g["msgid"] != "-":
            extra["log.syslog.msgid"] = g["msgid"]
        if g["sd"] != "-":
            extra["log.syslog.structured_data"] = _structured_data(g["sd"])
        return Envelope(
            stamp,
            None,
            None if g["host"] == "-" else g["host"],
            None if g["app"] == "-" else g["app"],
            int(g["procid"]) if g["procid"].isdigit() else None,
            g["msg"] or "",
            extra,
        )

    def _kerio(self, line: str) -> Envelope | None:
        return self._dated(_KERIO.fullmatch(line), KERIO_PROGRAM)

    def _ctime(self, line: str) -> Envelope | None:
        return self._dated(_CTIME.fullmatch(line), CTIME_PROGRAM)

    def _dated(self, m: re.Match[str] | None, program: str) -> Envelope | None:
        """A program's own log layout: a date with month name and year, then the message (ClamAV, Kerio)."""
        if m is None:
            return None
        stamp = self.ts.bsd(m["mon"], m["day"], m["clock"], None, m["year"])
        return None if stamp is None else Envelope(stamp, self.zone_name, None, program, None, m["msg"])

    def _tai64n(self, line: str) -> Envelope | None:
        env = self._stamp_only(_TAI64N.fullmatch(line), self.ts.tai64n)
        if env is not None:
            env.program = TAI64N_PROGRAM
        return env

    @staticmethod
    def _unstamped(line: str) -> Envelope | None:
        m = _UNSTAMPED.fullmatch(line)
        if m is None:
            return None
        return Envelope(None, None, m["host"], m["prog"], int(m["pid"]), m["msg"])

    def _unix(self, line: str) -> Envelope | None:
        return self._stamp_only(_UNIX.fullmatch(line), self.ts.unix)

    @staticmethod
    def _stamp_only(m: re.Match[str] | None, convert: Callable[[str], str | None]) -> Envelope | None:
        """Formats with an absolute timestamp and nothing else before the message (multilog, epoch)."""
        if m is None:
            return None
        stamp = convert(m["stamp"])
        return None if stamp is None else Envelope(stamp, None, None, None, None, m["msg"])

    def _from_groups(self, stamp: str, zone: str | None, g: dict[str, str | None], extra: dict[str, Any]) -> Envelope:
        if g.get("pri"):
            self._priority(extra, g["pri"])  # type: ignore[arg-type]
        for facility, severity in (("tagfac", "tagsev"), ("midfac", "midsev")):
            if g.get(facility):
                self._facility_severity(extra, g[facility], g[severity])  # type: ignore[arg-type]
        pid = g.get("pid")
        return Envelope(stamp, zone, g.get("host"), g.get("prog"), int(pid) if pid else None, g["msg"] or "", extra)

    @staticmethod
    def _priority(fields: dict[str, Any], pri: str) -> None:
        value = int(pri)
        if value > 191:
            return
        facility, severity = divmod(value, 8)
        fields["log.syslog.priority"] = value
        fields["log.syslog.facility.code"] = facility
        fields["log.syslog.facility.name"] = FACILITIES[facility]
        fields["log.syslog.severity.code"] = severity
        fields["log.syslog.severity.name"] = SEVERITIES[severity]
        fields["log.level"] = SEVERITIES[severity]

    @staticmethod
    def _facility_severity(fields: dict[str, Any], facility: str, severity: str | None) -> None:
        fields["log.syslog.facility.name"] = facility
        if severity:
            name = _SEVERITY_ALIASES.get(severity, severity)
            fields["log.syslog.severity.name"] = name
            fields["log.level"] = name

    @staticmethod
    def _unwrap_repeat(env: Envelope) -> None:
        m = _REPEATED.fullmatch(env.message)
        if m is None:
            return
        env.extra = {**(env.extra or {}), "mail.repeat_count": int(m["n"])}
        inner = m["msg"]
        # rsyslog repeats only the text after "prog[pid]: "; some relays repeat the program too.
        head = _PROGRAM_PREFIX.match(inner)
        if head and env.program is None:
            env.program = head["prog"]
            if head["pid"]:
                env.pid = int(head["pid"])
            inner = inner[head.end() :]
        env.message = inner


_PROGRAM_PREFIX = re.compile(r"(?P<prog>[A-Za-z_][^\s\[\]:]*)(?:\[(?P<pid>\d+)\])?: ")


def _structured_data(text: str) -> dict[str, dict[str, str]]:
    result: dict[str, dict[str, str]] = {}
    for element in _SD_ELEMENT.finditer(text):
        params = {k: re.sub(r"\\(.)", r"\1", v) for k, v in _SD_PARAM.findall(element["params"])}
        result[element["id"]] = params
    return result
