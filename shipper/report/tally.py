"""pflogsumm's counts, from shipper's events.

A port of the counting loop of Debian's `pflogsumm` 1.1.5, so that a report's grand totals mean exactly
what a pflogsumm user knows them to mean (and equal pflogsumm's on the same log: the tests run both).
It works on events rather than raw lines: shipper's envelope parser has already found the program, PID,
message and time in any syslog format it reads (RFC 3164, RFC 3339, RFC 5424, journald export, etc.), so
only the program's message is matched here, with pflogsumm's own expressions, quirks included:

- a message's sender, size and received bytes count once per queue ID for the whole run (a queue ID
  reused later is not counted again), and only when its `client=`/pickup line came first;
- "deferred" is the number of distinct queue IDs with a deferral; "deferrals" counts the lines;
- delivered, bounced and forwarded count delivery lines (one per recipient), not messages;
- a re-injected message (after a content filter) is received and delivered twice.

Message-level outcomes without those quirks come from the correlator (see `build.py`).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

_ID_TAG = re.compile(r": \[ID \d+ [^\]]+\] ")
_QID = re.compile(r"([^:\s]+)")
_CLEANUP_CHECK = re.compile(
    r"/cleanup\[\d+\]: .*?\b((?:milter-)?reject|warning|hold|discard): (header|body|END-OF-MESSAGE) (.*)$"
)
_CLIENT = re.compile(r"\[\d+\]: \w+: client=(.+?)(,|$)")
_SMTPD_ACTION = re.compile(r"\[\d+\]: \w+: (reject(?:_warning)?|hold|discard): ")
_FROM_SIZE = re.compile(r"from=<([^>]*)>, size=(\d+)")
_DELIVERY = re.compile(
    r"to=<([^>]*)>, (?:orig_to=<[^>]*>, )?relay=([^,]+), (?:conn_use=[^,]+, )?delay=([^,]+), "
    r"(?:delays=[^,]+, )?(?:dsn=[^,]+, )?status=(\S+)(.*)$"
)
_PICKUP = re.compile(r": (sender|uid)=")
_SMTP_CONNECT_1 = re.compile(r".* connect to (\S+?): ([^;]+); address \S+ port.*$")
_SMTP_CONNECT_2 = re.compile(r".* connect to ([^[]+)\[\S+?\]: (.+?) \(port \d+\)$")
_REJECT_PARTS = re.compile(r"^.* \b(?:reject(?:_warning)?|hold|discard): (\S+) from (\S+?): (.*)$")
_SENDER_DOMAIN = re.compile(r"^[^@]+@(.+)$")
_LOCAL_PART = re.compile(r"^[^@]+@")
_DEFERRED_REASON = re.compile(r", status=deferred \(([^)]+)")
_BOUNCED_REASON = re.compile(r", status=bounced \((.+)\)")
_CONNECT_TO = re.compile(r"^connect to ")
_REPLY_CODE = re.compile(r"^\d{3} ")
_NUMBER = re.compile(r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_SHORT_DOMAIN = re.compile(r"^(.*)\.([^.]+)\.([^.]{3}|[^.]{2,3}\.[^.]{2})$")


def _domain_lower(address: str) -> str:
    """pflogsumm's `s/(@.+)/\\L$1/`: the domain part (from the first @) in lower case."""
    at = address.find("@")
    return address if at < 0 else address[:at] + address[at:].lower()


@lru_cache(maxsize=8192)  # clients and relays repeat: the same few thousand hosts all day
def gimme_domain(client: str) -> str:
    """pflogsumm's client host to domain: `mail.host.example.com[1.2.3.4]` -> `example.com`, `unknown[ip]` -> ip."""
    m = re.match(r"^([^\[]*)\[((?:\d{1,3}\.){3}\d{1,3})\]", client) or re.match(r"^([^/]*)/([0-9a-f.:]+)", client, re.I)
    if m is None:
        m = re.match(r"^([^\[\(/]*)[\[\(/]([^\]\)]+)[\]\)]:?\d*$", client)
    domain, ip = (m.group(1), m.group(2)) if m else ("", "")
    if domain in ("", "unknown"):
        return ip
    short = _SHORT_DOMAIN.match(domain)
    return f"{short.group(2)}.{short.group(3)}".lower() if short else domain


def said_trim(text: str, limit: int) -> str:
    while len(text) > limit:
        if re.match(r"^.* said: ", text):
            text = re.sub(r"^.* said: ", "", text, count=1)
        elif re.match(r"^.*: *", text):
            text = re.sub(r"^.*?: *", "", text, count=1)
        else:
            return text[: limit - 3] + "..."
    return text


def trim(text: str, limit: int) -> str:
    return text[: limit - 3] + "..." if len(text) > limit else text


def reject_reason(kind: str, rest: str) -> str:
    """pflogsumm's short reject reason (proc_smtpd_reject, without --verbose-msg-detail)."""
    if kind in ("RCPT", "DATA", "CONNECT"):
        rest = re.sub(r"^(\d{3} <).*?(>:)", r"\1\2", rest, count=1)
        rest = re.sub(r"^(?:\d{3} \d\.\d\.\d )(Protocol error);.*$", r"\1", rest, count=1)
        rest = re.sub(r"^(?:.*?[:;] )(?:\[[^\]]+\] )?([^;,]+)[;,].*$", r"\1", rest, count=1)
        rest = re.sub(r"^((?:Sender|Recipient) address rejected: [^:]+):.*$", r"\1", rest, count=1)
        return re.sub(r"(client|Client host|Sender address) .+? blocked", "blocked", rest, count=1)
    if kind == "MAIL":
        return re.sub(r"^\d{3} (?:<.+>: )?([^;:]+)[;:]?.*$", r"\1", rest, count=1)
    return re.sub(r"^(?:.*[:;] )?([^,]+).*$", r"\1", rest, count=1)


@dataclass
class DomainStats:
    count: int = 0
    size: int = 0
    deferrals: int = 0
    delay_sum: float = 0.0
    delay_max: float = 0.0


@dataclass
class UserStats:
    count: int = 0
    size: int = 0


@dataclass
class Tally:
    """Counts as pflogsumm makes them. `syslog_name` is pflogsumm's --syslog-name."""

    syslog_name: str = "postfix"
    received: int = 0
    delivered: int = 0
    forwarded: int = 0
    deferred: int = 0
    deferrals: int = 0
    bounced: int = 0
    rejected: int = 0
    reject_warnings: int = 0
    held: int = 0
    discarded: int = 0
    bytes_received: int = 0
    bytes_delivered: int = 0
    sending_domains: dict[str, DomainStats] = field(default_factory=dict)
    recipient_domains: dict[str, DomainStats] = field(default_factory=dict)
    senders: dict[str, UserStats] = field(default_factory=dict)
    recipients: dict[str, UserStats] = field(default_factory=dict)
    # (kind, reason, detail) -> count, with kind the stage (RCPT, MAIL...) or the cleanup daemon
    rejects: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    warns: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    holds: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    discards: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    deferred_reasons: Counter[tuple[str, str]] = field(default_factory=Counter)  # (daemon, reason)
    bounce_reasons: Counter[tuple[str, str]] = field(default_factory=Counter)  # (relay, reason)
    smtp_problems: Counter[tuple[str, str]] = field(default_factory=Counter)  # (problem, host)
    warnings: Counter[tuple[str, str]] = field(default_factory=Counter)  # (daemon, text)
    fatals: Counter[tuple[str, str]] = field(default_factory=Counter)
    panics: Counter[tuple[str, str]] = field(default_factory=Counter)
    master: Counter[str] = field(default_factory=Counter)
    # bucket (a local date or hour, from `bucket_of`) -> [received, delivered, deferred, bounced, rejected]
    per_day: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0] * 5))
    per_hour: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0] * 5))
    _sizes: dict[str, int] = field(default_factory=dict)
    _received_from: dict[str, str] = field(default_factory=dict)
    _deferred_ids: set[str] = field(default_factory=set)
    _commands: dict[str, str | None] = field(default_factory=dict)  # program -> pflogsumm's command, or None

    def __post_init__(self) -> None:
        name = re.escape(self.syslog_name)
        self._program = re.compile(rf"^(?:postfix|{name})(?:/(?:smtps|submission))?/([^\[:]*)")
        self._script = re.compile(r"^((?:postfix)(?:-script)?)$")

    def _command(self, program: str) -> str | None:
        m = self._program.match(program) or self._script.match(program)
        cmd = m.group(1) if m is not None else None
        if len(self._commands) < 4096:
            self._commands[program] = cmd
        return cmd

    def feed(self, program: str, pid: object, message: str, day: str, hour: int) -> None:
        """One line: its program (`process.name`), PID, message after `program[pid]: `, local date and hour."""
        cmd = self._commands[program] if program in self._commands else self._command(program)
        if cmd is None:
            return
        rmdr = f"{program}[{pid}]: {message}" if pid is not None else f"{program}: {message}"
        if "[ID " in rmdr:
            rmdr = _ID_TAG.sub(": ", rmdr, count=1)
            message = rmdr.split(": ", 1)[1] if ": " in rmdr else ""
        q = _QID.match(message)
        if q is None:
            return
        qid = q.group(1)
        self._line(cmd, qid, rmdr, self.per_day[day], self.per_hour[hour])

    def _reject(self, rmdr: str, counter: Counter[tuple[str, str, str]], day: list[int], hour: list[int]) -> None:
        day[4] += 1
        hour[4] += 1
        parts = _REJECT_PARTS.match(rmdr)
        kind, client, rest = parts.groups() if parts else ("", "", "")
        reason = reject_reason(kind, rest)
        to = re.search(r"to=<([^>]+)>", rest) or re.search(r"\d{3} <([^>]+)>: User unknown ", rest)
        to = to or re.search(r"to=<(.*?)(?:[, ]|$)", rest)
        sender = re.search(r"from=<([^>]+)>", rest)
        if reason.startswith("Sender address rejected:"):
            detail = sender.group(1) if sender else "<>"
        elif re.match(r"^(Recipient address rejected:|User unknown( |$))", reason):
            detail = to.group(1) if to else "<>"
        elif (m := re.match(r"^.*?\d{3} (Improper use of SMTP command pipelining);.*$", reason)) is not None:
            reason = m.group(1)
            src = re.match(r"^.+? from (\S+?):.*$", rmdr)
            detail = src.group(1) if src else ""
        elif (m := re.match(r"^.*?\d{3} (Message size exceeds fixed limit);.*$", reason)) is not None:
            reason, detail = m.group(1), gimme_domain(client)
        elif (m := re.match(r"^.*?\d{3} (Server configuration (?:error|problem));.*$", reason)) is not None:
            reason, detail = f"(Local) {m.group(1)}", gimme_domain(client)
        else:
            detail = gimme_domain(client)
        counter[(kind, reason, detail)] += 1

    def _count(self, kind: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)

    def _line(self, cmd: str, qid: str, rmdr: str, day: list[int], hour: list[int]) -> None:
        if cmd == "cleanup" and (check := _CLEANUP_CHECK.search(rmdr)) is not None:
            action, where, rest = check.groups()
            rest = trim(re.sub(r"( from \S+?)?; from=<.*$", "", rest, count=1), 64)
            kind, counter = {
                "reject": ("rejected", self.rejects), "milter-reject": ("rejected", self.rejects),
                "warning": ("reject_warnings", self.warns), "hold": ("held", self.holds),
                "discard": ("discarded", self.discards),
            }[action]  # fmt: skip
            self._count(kind)
            counter[(cmd, where, rest)] += 1
            day[4] += 1
            hour[4] += 1
        elif qid in ("warning", "fatal", "panic"):
            text = trim(re.sub(rf"^.*{qid}: ", "", rmdr, count=1), 66)
            {"warning": self.warnings, "fatal": self.fatals, "panic": self.panics}[qid][(cmd, text)] += 1
        elif qid in ("reject", "reject_warning", "hold", "discard"):
            self._smtpd_action(qid, rmdr, day, hour)
        elif cmd == "master":
            parts = re.split(r"^.*master.*: ", rmdr)
            self.master[parts[1] if len(parts) > 1 else ""] += 1
        # The `in` tests only skip expressions that cannot match without that literal (a quarter of the cost).
        elif cmd in ("smtpd", "postscreen"):
            if "client=" in rmdr and (client := _CLIENT.search(rmdr)) is not None:
                self._received(qid, gimme_domain(client.group(1)), day, hour)
            elif (action := _SMTPD_ACTION.search(rmdr)) is not None:
                self._smtpd_action(action.group(1), rmdr, day, hour)
        elif ">, size=" in rmdr and (envelope := _FROM_SIZE.search(rmdr)) is not None:
            self._envelope(qid, envelope.group(1), int(envelope.group(2)))
        elif "status=" in rmdr and (delivery := _DELIVERY.search(rmdr)) is not None:
            self._delivery(cmd, qid, rmdr, delivery.groups(), day, hour)
        elif cmd == "pickup" and _PICKUP.search(rmdr):
            self._received(qid, "pickup", day, hour)
        elif cmd == "smtp" and " connect to " in rmdr:
            problem = _SMTP_CONNECT_1.match(rmdr) or _SMTP_CONNECT_2.match(rmdr)
            if problem is not None:
                self.smtp_problems[(problem.group(2).lower(), problem.group(1))] += 1

    def _smtpd_action(self, action: str, rmdr: str, day: list[int], hour: list[int]) -> None:
        kind, counter = {
            "reject": ("rejected", self.rejects), "reject_warning": ("reject_warnings", self.warns),
            "hold": ("held", self.holds), "discard": ("discarded", self.discards),
        }[action]  # fmt: skip
        self._count(kind)
        self._reject(rmdr, counter, day, hour)

    def _received(self, qid: str, whence: str, day: list[int], hour: list[int]) -> None:
        self.received += 1
        day[0] += 1
        hour[0] += 1
        self._received_from[qid] = whence

    def _envelope(self, qid: str, address: str, size: int) -> None:
        if self._sizes.get(qid):  # pflogsumm: "avoid double-counting!" (for the whole run)
            return
        address = _domain_lower(address) if address else "from=<>"
        self._sizes[qid] = size
        whence = self._received_from.get(qid)
        if not whence:  # not received here (a forward, or its client= line is before the log)
            return
        del self._received_from[qid]
        split = _SENDER_DOMAIN.match(address)
        domain = split.group(1) if split else address if whence == "pickup" else whence
        sending = self.sending_domains.setdefault(domain, DomainStats())
        sending.count += 1
        sending.size += size
        sender = self.senders.setdefault(address, UserStats())
        sender.count += 1
        sender.size += size
        self.bytes_received += size

    def _delivery(self, cmd: str, qid: str, rmdr: str, groups: tuple[str, ...], day: list[int],
                  hour: list[int]) -> None:  # fmt: skip
        address, relay, delay_text, status, rest = groups
        address = _domain_lower(address)
        domain = _LOCAL_PART.sub("", address, count=1)
        delay = _number(delay_text)
        if status == "sent":
            if "forwarded as " in rest:
                self.forwarded += 1
                return
            stats = self.recipient_domains.setdefault(domain, DomainStats())
            stats.count += 1
            stats.delay_sum += delay
            stats.delay_max = max(stats.delay_max, delay)
            user = self.recipients.setdefault(address, UserStats())
            user.count += 1
            hour[1] += 1
            day[1] += 1
            self.delivered += 1
            size = self._sizes.get(qid, 0)
            stats.size += size
            user.size += size
            self.bytes_delivered += size
        elif status == "deferred":
            reason = _DEFERRED_REASON.search(rmdr)
            self.deferred_reasons[(cmd, _deferral_text(reason.group(1) if reason else ""))] += 1
            hour[2] += 1
            day[2] += 1
            self.deferrals += 1
            if qid not in self._deferred_ids:
                self._deferred_ids.add(qid)
                self.deferred += 1
            stats = self.recipient_domains.setdefault(domain, DomainStats())
            stats.deferrals += 1
            stats.delay_max = max(stats.delay_max, delay)
        elif status == "bounced":
            reason = _BOUNCED_REASON.search(rmdr)
            text = _REPLY_CODE.sub("", said_trim(reason.group(1) if reason else "", 66), count=1)
            self.bounce_reasons[(relay, text)] += 1
            hour[3] += 1
            day[3] += 1
            self.bounced += 1

    def grand_totals(self) -> dict[str, Any]:
        handled = self.delivered + self.rejected + self.discarded
        return {
            "received": self.received, "delivered": self.delivered, "forwarded": self.forwarded,
            "deferred": self.deferred, "deferrals": self.deferrals, "bounced": self.bounced,
            "rejected": self.rejected, "rejected_percent": int(self.rejected / handled * 100) if handled else 0,
            "reject_warnings": self.reject_warnings, "held": self.held, "discarded": self.discarded,
            "discarded_percent": int(self.discarded / handled * 100) if handled else 0,
            "bytes_received": self.bytes_received, "bytes_delivered": self.bytes_delivered,
            "senders": len(self.senders), "sending_domains": len(self.sending_domains),
            "recipients": len(self.recipients),
            "recipient_domains": sum(1 for d in self.recipient_domains.values() if d.count),  # delivered to
        }  # fmt: skip


@lru_cache(maxsize=8192)  # deferral replies repeat (the same host timing out all day)
def _deferral_text(reason: str) -> str:
    text = said_trim(reason, 65)
    return _CONNECT_TO.sub("", _REPLY_CODE.sub("", text, count=1), count=1)


def _number(text: str) -> float:
    """Perl's numeric value of a string: its leading number, else 0."""
    m = _NUMBER.match(text)
    return float(m.group(0)) if m else 0.0
