"""Readers of queue listings, live or saved: Postfix (`postqueue -j` and `postqueue -p`), Exim (`exim -bp`),
Sendmail (`mailq`) and qmail (`qmail-qread`, `qmail-qstat`). Each takes the command's text and the time it
was taken, and returns the messages; output that is not the command's (another MTA's, cut off, garbage)
raises QueueError naming the line, never returns a partial list silently.

Text listings print arrival times without a year (Postfix, Sendmail) or only an age (Exim): the year is the
one that puts the time at most a day after `now`, and ages give arrival as `now - age`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo

from shipper.queue.model import QueuedMessage, QueuedRecipient, QueueError, age

Reader = Callable[[str, datetime], list[QueuedMessage]]


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


def postfix_json(text: str, now: datetime) -> list[QueuedMessage]:
    """`postqueue -j`: one JSON object per message (Postfix 3.1+)."""
    out = []
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
            raise QueueError(f"postqueue -j output, line {n}: not a queue entry ({exc}): {line[:120]!r}") from None
    return out


def postfix_text(text: str, now: datetime) -> list[QueuedMessage]:
    """`postqueue -p` / `mailq` of Postfix: `*` marks the active queue, `!` the hold queue; a reason in
    parentheses applies to the recipients listed under it."""
    lines = text.splitlines()
    body = [ln for ln in lines if ln.strip()]
    if not body:
        raise QueueError("postqueue -p output is empty (even an empty queue prints 'Mail queue is empty')")
    if body[0].strip() == "Mail queue is empty":
        return []
    if not text.endswith("\n"):
        raise QueueError(f"postqueue -p output ends mid-line ({lines[-1][:60]!r}): truncated?")
    if not body[0].startswith("-Queue ID-"):
        raise QueueError(f"not postqueue -p output: line 1 is {body[0][:80]!r}, expected the '-Queue ID-' header")
    out: list[QueuedMessage] = []
    current: QueuedMessage | None = None
    reason: str | None = None
    footer = None
    for n, line in enumerate(lines[1:], 2):
        if not line.strip():
            current, reason = None, None
            continue
        if (m := _PF_FOOTER.fullmatch(line.strip())) is not None:
            footer = m
            break
        stripped = line.strip()
        if current is None:
            m = _PF_ENTRY.fullmatch(line)
            if m is None or not POSTFIX_ID.fullmatch(m["id"]):
                raise QueueError(f"postqueue -p output, line {n}: expected a queue entry, got {line[:100]!r}")
            arrival = _year_less(m["date"], "%a %b %d %H:%M:%S", now)
            current = QueuedMessage(
                mta="postfix", queue_id=m["id"], queue=_PF_MARKS[m["mark"]], arrival=arrival,
                age_seconds=age(arrival, now), size=int(m["size"]), sender=_null_sender(m["sender"].strip()),
            )  # fmt: skip
            out.append(current)
        elif stripped.startswith("(") and stripped.endswith(")"):
            reason = stripped[1:-1]
        elif " " not in stripped:
            current.recipients.append(QueuedRecipient(address=stripped, reason=reason))
        else:
            raise QueueError(f"postqueue -p output, line {n}: expected a recipient or a reason, got {line[:100]!r}")
    if footer is None:
        raise QueueError(f"postqueue -p output ends without its '-- N Kbytes in M Requests.' line: truncated? "
                         f"({len(out)} entries read)")  # fmt: skip
    if int(footer["count"]) != len(out):
        raise QueueError(f"postqueue -p output lists {len(out)} entries but its footer says {footer['count']}")
    return out


# --- Exim --------------------------------------------------------------------------------------------

EXIM_ID = re.compile(r"[0-9A-Za-z]{6}-(?:[0-9A-Za-z]{11}-[0-9A-Za-z]{4}|[0-9A-Za-z]{6}-[0-9A-Za-z]{2})")
_EXIM_ENTRY = re.compile(
    r"\s*(?P<age>\d+[smhdw])\s+(?P<size>[\d.]+[KMG]?)\s+(?P<id>\S+) <(?P<sender>[^>]*)>"
    r"(?P<frozen> \*\*\* frozen \*\*\*)?\s*"
)
_EXIM_RCPT = re.compile(r"\s+(?:(?P<done>\+?D) +)?(?P<address>\S+)\s*")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZES = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def exim_bp(text: str, now: datetime) -> list[QueuedMessage]:
    """`exim -bp`: age, size, ID, <sender> and `*** frozen ***`; recipients indented, `D` when delivered."""
    out: list[QueuedMessage] = []
    current: QueuedMessage | None = None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            current = None
            continue
        m = _EXIM_ENTRY.fullmatch(line)
        if m is not None and EXIM_ID.fullmatch(m["id"]):
            seconds = int(m["age"][:-1]) * _UNITS[m["age"][-1]]
            size = m["size"]
            unit = size[-1] if size[-1] in "KMG" else ""
            current = QueuedMessage(
                mta="exim", queue_id=m["id"], queue="frozen" if m["frozen"] else "queued",
                arrival=now - timedelta(seconds=seconds), age_seconds=seconds,
                size=int(float(size.rstrip("KMG")) * _SIZES[unit]), sender=m["sender"],
            )  # fmt: skip
            out.append(current)
        elif current is not None and (r := _EXIM_RCPT.fullmatch(line)) is not None:
            current.recipients.append(QueuedRecipient(address=r["address"], delivered=bool(r["done"])))
        else:
            raise QueueError(f"exim -bp output, line {n}: expected a message or a recipient, got {line[:100]!r}")
    return out


# --- Sendmail ----------------------------------------------------------------------------------------

SENDMAIL_ID = re.compile(r"[0-9A-Za-z]{14}")
_SM_ENTRY = re.compile(
    r"(?P<id>[0-9A-Za-z]{8,20}?)(?P<mark>[*X-]?)\s+(?P<size>\d+) (?P<date>\w{3} \w{3} [ \d]\d \d\d:\d\d)"
    r"\s+<?(?P<sender>[^>\s]*)>?.*"
)
_SM_MARKS = {"*": "active", "X": "deferred", "-": "deferred", "": "deferred"}  # X: load too high, -: too young


def sendmail_mailq(text: str, now: datetime) -> list[QueuedMessage]:
    """Sendmail's `mailq`: per queue directory a header, entries with `*` while being delivered, the reason
    in parentheses, recipients in angle brackets, and `Total requests: N`."""
    out: list[QueuedMessage] = []
    current: QueuedMessage | None = None
    reason: str | None = None
    seen_queue = False
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("MSP Queue status", "MTA Queue status")):
            continue
        if stripped.endswith(" is empty") or re.fullmatch(r"\S+ \(\d+ requests?\)", stripped):
            seen_queue, current = True, None
            continue
        if stripped.startswith("-----Q-ID-----") or stripped.startswith("Total requests:"):
            current = None
            continue
        m = _SM_ENTRY.fullmatch(line)
        if m is not None and SENDMAIL_ID.fullmatch(m["id"]):
            arrival = _year_less(m["date"], "%a %b %d %H:%M", now)
            current, reason = QueuedMessage(
                mta="sendmail", queue_id=m["id"], queue=_SM_MARKS[m["mark"]], arrival=arrival,
                age_seconds=age(arrival, now), size=int(m["size"]), sender=m["sender"],
            ), None  # fmt: skip
            out.append(current)
        elif current is not None and stripped.startswith("(") and stripped.endswith(")"):
            reason = stripped[1:-1]
        elif current is not None and line[:1].isspace():
            current.recipients.append(QueuedRecipient(address=stripped.strip("<>"), reason=reason))
        else:
            raise QueueError(f"mailq output, line {n}: not Sendmail's queue listing: {line[:100]!r}")
    if not seen_queue:
        raise QueueError("not Sendmail's mailq output: no '/var/spool/mqueue (N requests)' or 'is empty' header")
    return out


# --- qmail -------------------------------------------------------------------------------------------

QMAIL_ID = re.compile(r"\d+")
_QM_ENTRY = re.compile(
    r"(?P<date>\d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d) GMT  #(?P<id>\d+)  (?P<size>\d+)  <(?P<sender>[^>]*)>"
    r"(?P<bouncing> bouncing)?\s*"
)
_QM_RCPT = re.compile(r"\t(?:(?P<done>done)\t|\t?)(?P<channel>local|remote)\t(?P<address>.*)")


def qmail_qread(text: str, now: datetime) -> list[QueuedMessage]:
    """`qmail-qread`: a line per message (GMT date, #inode, size, <sender>), then a tab-indented line per
    recipient, `done` once delivered."""
    out: list[QueuedMessage] = []
    current: QueuedMessage | None = None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _QM_ENTRY.fullmatch(line)
        if m is not None:
            arrival = datetime.strptime(m["date"], "%d %b %Y %H:%M:%S").replace(tzinfo=UTC)
            current = QueuedMessage(
                mta="qmail", queue_id=m["id"], queue="bouncing" if m["bouncing"] else "queued", arrival=arrival,
                age_seconds=age(arrival, now), size=int(m["size"]), sender=m["sender"],
            )  # fmt: skip
            out.append(current)
        elif current is not None and (r := _QM_RCPT.fullmatch(line)) is not None:
            current.recipients.append(QueuedRecipient(address=r["address"], delivered=bool(r["done"])))
        else:
            raise QueueError(f"qmail-qread output, line {n}: expected a message or a recipient, got {line[:100]!r}")
    return out


def qmail_qstat(text: str) -> dict[str, int]:
    """`qmail-qstat`: the two counters."""
    found = dict(re.findall(r"^messages in queue(?P<what>| but not yet preprocessed): (\d+)$", text, re.M))
    if "" not in found:
        raise QueueError("not qmail-qstat output: no 'messages in queue: N' line")
    return {"queued": int(found[""]), "unprocessed": int(found.get(" but not yet preprocessed", 0))}
