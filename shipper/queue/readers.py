"""Readers of queue listings, live or saved: Postfix (`postqueue -j` and `postqueue -p`), Exim (`exim -bp`),
Sendmail (`mailq`) and qmail (`qmail-qread`, `qmail-qstat`). Each takes the command's text and the time it
was taken, and returns a `Listing` of the messages; output that is not the command's (another MTA's,
empty, cut off before its end) raises QueueError naming the line, never returns a partial list silently.

Senders, recipients and reasons are written by strangers: every address RFC 5321 allows is read (quoted
local parts with spaces, `<`, `>`, brackets), and whatever an MTA prints after the sender. An entry that
still cannot be read is skipped and named in `Listing.skipped`, so one hostile message never stops the
listing (nor `stuck`, `snapshot`, the queue actions and `shipper run`'s queue input, which read it).

Text listings print arrival times without a year (Postfix, Sendmail) or only an age (Exim): the year is the
one that puts the time at most a day after `now`, and ages give arrival as `now - age`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, tzinfo

from shipper.queue.model import QueuedMessage, QueuedRecipient, QueueError, age


class Listing(list[QueuedMessage]):
    """The messages read, with the entries that could not be, each named by line (`skipped`)."""

    def __init__(self, messages: Iterable[QueuedMessage] = (), skipped: Iterable[str] = ()) -> None:
        super().__init__(messages)
        self.skipped = list(skipped)


Reader = Callable[[str, datetime], Listing]


class _Entries:
    """What a text reader has read so far; an entry header it cannot read starts a skip of that entry."""

    def __init__(self, tool: str) -> None:
        self.tool = tool
        self.messages = Listing()
        self.current: QueuedMessage | None = None
        self.skipping = False

    def add(self, message: QueuedMessage) -> None:
        self.messages.append(message)
        self.current, self.skipping = message, False

    def end(self) -> None:
        self.current, self.skipping = None, False

    def skip(self, n: int, line: str, why: str) -> None:
        self.messages.skipped.append(f"{self.tool} output, line {n}: {why}, got {line[:100]!r}: entry skipped")
        self.current, self.skipping = None, True

    def unreadable(self, n: int, line: str, why: str) -> None:
        """A line no pattern took: part of the entry being skipped when indented, else an entry of its own."""
        if not (self.skipping and line[:1].isspace()):
            self.skip(n, line, why)

    def result(self) -> Listing:
        """Nothing read and something refused: not this tool's output at all (another MTA's, garbage)."""
        if not self.messages and self.messages.skipped:
            raise QueueError(self.messages.skipped[0].removesuffix(": entry skipped"))
        return self.messages


def _local(now: datetime) -> tzinfo:
    return now.tzinfo or datetime.now().astimezone().tzinfo or UTC


def _year_less(text: str, fmt: str, now: datetime) -> datetime:
    """A `Sun Nov 29 00:33:05` style time in the year that puts it no later than a day after `now`."""
    parsed = datetime.strptime(f"{now.year} {text}", f"%Y {fmt}").replace(tzinfo=_local(now))
    if parsed > now + timedelta(days=1):
        parsed = parsed.replace(year=now.year - 1)
    return parsed


# --- Postfix -----------------------------------------------------------------------------------------

POSTFIX_ID = re.compile(r"[0-9A-F]{6,}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,}")  # short hex, or long IDs
_PF_ENTRY = re.compile(
    r"(?P<id>[0-9A-Za-z]+)(?P<mark>[*!]?)\s+(?P<size>\d+) (?P<date>\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d)\s+(?P<sender>.*)"
)
_PF_FOOTER = re.compile(r"-- (?P<kbytes>\d+) Kbytes in (?P<count>\d+) Requests?\.")
_PF_MARKS = {"*": "active", "!": "hold", "": "deferred"}  # text output cannot tell incoming/maildrop apart


def _null_sender(sender: str) -> str:
    return "" if sender in ("MAILER-DAEMON", "<>") else sender


def postfix_json(text: str, now: datetime) -> Listing:
    """`postqueue -j`: one JSON object per message (Postfix 3.1+)."""
    entries = _Entries("postqueue -j")
    out = entries.messages
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            arrival = datetime.fromtimestamp(int(item["arrival_time"]), tz=_local(now))
            recipients = [
                QueuedRecipient(address=r["address"], reason=r.get("delay_reason")) for r in item["recipients"]
            ]
            out.append(QueuedMessage(
                mta="postfix", queue_id=item["queue_id"], queue=item["queue_name"], arrival=arrival,
                age_seconds=age(arrival, now), size=int(item["message_size"]),
                sender=_null_sender(item["sender"]), recipients=recipients,
            ))  # fmt: skip
        except (ValueError, KeyError, TypeError) as exc:
            entries.skip(n, line, f"not a queue entry ({str(exc)[:80]})")
    return entries.result()


def postfix_text(text: str, now: datetime) -> Listing:
    """`postqueue -p` / `mailq` of Postfix: `*` marks the active queue, `!` the hold queue; a reason in
    parentheses applies to the recipients listed under it."""
    lines = text.splitlines()
    body = [ln for ln in lines if ln.strip()]
    if not body:
        raise QueueError("postqueue -p output is empty (even an empty queue prints 'Mail queue is empty')")
    if body[0].strip() == "Mail queue is empty":
        return Listing()
    if not text.endswith("\n"):
        raise QueueError(f"postqueue -p output ends mid-line ({lines[-1][:60]!r}): truncated?")
    if not body[0].startswith("-Queue ID-"):
        raise QueueError(f"not postqueue -p output: line 1 is {body[0][:80]!r}, expected the '-Queue ID-' header")
    entries = _Entries("postqueue -p")
    reason: str | None = None
    footer = None
    for n, line in enumerate(lines[1:], 2):
        if not line.strip():
            entries.end()
            reason = None
            continue
        if (m := _PF_FOOTER.fullmatch(line.strip())) is not None:
            footer = m
            break
        stripped = line.strip()
        current = entries.current
        if entries.skipping:
            continue
        if current is None:
            m = _PF_ENTRY.fullmatch(line)
            if m is None or not POSTFIX_ID.fullmatch(m["id"]):
                entries.skip(n, line, "expected a queue entry")
                continue
            arrival = _year_less(m["date"], "%a %b %d %H:%M:%S", now)
            entries.add(QueuedMessage(
                mta="postfix", queue_id=m["id"], queue=_PF_MARKS[m["mark"]], arrival=arrival,
                age_seconds=age(arrival, now), size=int(m["size"]), sender=_null_sender(m["sender"].strip()),
            ))  # fmt: skip
        elif stripped.startswith("(") and stripped.endswith(")"):
            reason = stripped[1:-1]
        else:  # a recipient: quoted local parts may hold spaces
            current.recipients.append(QueuedRecipient(address=stripped, reason=reason))
    out = entries.result()
    if footer is None:
        raise QueueError(f"postqueue -p output ends without its '-- N Kbytes in M Requests.' line: truncated? "
                         f"({len(out)} entries read)")  # fmt: skip
    if int(footer["count"]) != len(out) + len(out.skipped):
        raise QueueError(f"postqueue -p output lists {len(out)} entries but its footer says {footer['count']}")
    return out


# --- Exim --------------------------------------------------------------------------------------------

EXIM_ID = re.compile(r"[0-9A-Za-z]{6}-(?:[0-9A-Za-z]{11}-[0-9A-Za-z]{4}|[0-9A-Za-z]{6}-[0-9A-Za-z]{2})")
# The sender runs to the last `>` ("x>y"@example is legal); Exim may add `(login)` for an untrusted
# submitter and `*** frozen ***` after it, and whatever else a version prints there is kept out of it.
_EXIM_ENTRY = re.compile(
    r"\s*(?P<age>\d+[smhdw])\s+(?P<size>[\d.]+[KMG]?)\s+(?P<id>\S+) <(?P<sender>.*)>(?P<rest>(?:\s[^>]*)?)"
)
_EXIM_RCPT = re.compile(r"\s+(?:(?P<done>\+?D) +)?(?P<address>\S(?:.*\S)?)\s*")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZES = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def exim_bp(text: str, now: datetime) -> Listing:
    """`exim -bp`: age, size, ID, <sender> and `*** frozen ***`; recipients indented, `D` when delivered."""
    entries = _Entries("exim -bp")
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            entries.end()
            continue
        m = _EXIM_ENTRY.fullmatch(line)
        if m is not None and EXIM_ID.fullmatch(m["id"]):
            seconds = int(m["age"][:-1]) * _UNITS[m["age"][-1]]
            size = m["size"]
            unit = size[-1] if size[-1] in "KMG" else ""
            entries.add(QueuedMessage(
                mta="exim", queue_id=m["id"], queue="frozen" if "*** frozen ***" in m["rest"] else "queued",
                arrival=now - timedelta(seconds=seconds), age_seconds=seconds,
                size=int(float(size.rstrip("KMG")) * _SIZES[unit]), sender=m["sender"],
            ))  # fmt: skip
        elif entries.current is not None and (r := _EXIM_RCPT.fullmatch(line)) is not None:
            entries.current.recipients.append(QueuedRecipient(address=r["address"], delivered=bool(r["done"])))
        else:
            entries.unreadable(n, line, "expected a message or a recipient")
    return entries.result()


# --- Sendmail ----------------------------------------------------------------------------------------

SENDMAIL_ID = re.compile(r"[0-9A-Za-z]{14}")
_SM_ENTRY = re.compile(
    r"(?P<id>[0-9A-Za-z]{8,20}?)(?P<mark>[*X-]?)\s+(?P<size>\d+) (?P<date>\w{3} \w{3} [ \d]\d \d\d:\d\d)"
    r"\s+(?:<(?P<sender>.*)>(?:\s[^>]*)?|(?P<bare>[^<\s]\S*)(?:\s.*)?)"
)
_SM_MARKS = {"*": "active", "X": "deferred", "-": "deferred", "": "deferred"}  # X: load too high, -: too young


def sendmail_mailq(text: str, now: datetime) -> Listing:
    """Sendmail's `mailq`: per queue directory a header, entries with `*` while being delivered, the reason
    in parentheses, recipients in angle brackets, and `Total requests: N`."""
    entries = _Entries("mailq")
    reason: str | None = None
    seen_queue = False
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("MSP Queue status", "MTA Queue status")):
            continue
        if stripped.endswith(" is empty") or re.fullmatch(r"\S+ \(\d+ requests?\)", stripped):
            seen_queue = True
            entries.end()
            continue
        if stripped.startswith("-----Q-ID-----") or stripped.startswith("Total requests:"):
            entries.end()
            continue
        m = _SM_ENTRY.fullmatch(line)
        if m is not None and SENDMAIL_ID.fullmatch(m["id"]):
            arrival = _year_less(m["date"], "%a %b %d %H:%M", now)
            entries.add(QueuedMessage(
                mta="sendmail", queue_id=m["id"], queue=_SM_MARKS[m["mark"]], arrival=arrival,
                age_seconds=age(arrival, now), size=int(m["size"]), sender=m["sender"] or m["bare"] or "",
            ))  # fmt: skip
            reason = None
        elif entries.current is not None and stripped.startswith("(") and stripped.endswith(")"):
            reason = stripped[1:-1]
        elif entries.current is not None and line[:1].isspace():
            address = stripped[1:-1] if stripped.startswith("<") and stripped.endswith(">") else stripped
            entries.current.recipients.append(QueuedRecipient(address=address, reason=reason))
        else:
            entries.unreadable(n, line, "not an entry of Sendmail's queue listing")
    if not seen_queue:
        raise QueueError("not Sendmail's mailq output: no '/var/spool/mqueue (N requests)' or 'is empty' header")
    return entries.result()


# --- qmail -------------------------------------------------------------------------------------------

QMAIL_ID = re.compile(r"\d+")
_QM_ENTRY = re.compile(
    r"(?P<date>\d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d) GMT  #(?P<id>\d+)  (?P<size>\d+)  <(?P<sender>.*)>"
    r"(?P<bouncing> bouncing)?\s*"
)
_QM_RCPT = re.compile(r"\t(?:(?P<done>done)\t|\t?)(?P<channel>local|remote)\t(?P<address>.*)")


def qmail_qread(text: str, now: datetime) -> Listing:
    """`qmail-qread`: a line per message (GMT date, #inode, size, <sender>), then a tab-indented line per
    recipient, `done` once delivered."""
    entries = _Entries("qmail-qread")
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _QM_ENTRY.fullmatch(line)
        if m is not None:
            arrival = datetime.strptime(m["date"], "%d %b %Y %H:%M:%S").replace(tzinfo=UTC)
            entries.add(QueuedMessage(
                mta="qmail", queue_id=m["id"], queue="bouncing" if m["bouncing"] else "queued", arrival=arrival,
                age_seconds=age(arrival, now), size=int(m["size"]), sender=m["sender"],
            ))  # fmt: skip
        elif entries.current is not None and (r := _QM_RCPT.fullmatch(line)) is not None:
            entries.current.recipients.append(QueuedRecipient(address=r["address"], delivered=bool(r["done"])))
        else:
            entries.unreadable(n, line, "expected a message or a recipient")
    return entries.result()


def qmail_qstat(text: str) -> dict[str, int]:
    """`qmail-qstat`: the two counters."""
    found = dict(re.findall(r"^messages in queue(?P<what>| but not yet preprocessed): (\d+)$", text, re.M))
    if "" not in found:
        raise QueueError("not qmail-qstat output: no 'messages in queue: N' line")
    return {"queued": int(found[""]), "unprocessed": int(found.get(" but not yet preprocessed", 0))}
