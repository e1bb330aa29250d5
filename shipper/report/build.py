"""Build a report from parsed events: pflogsumm's counts (tally.py), and what only joined messages tell
(outcomes per message, reason categories, mail still in the queue) from the correlator."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable
from datetime import tzinfo
from typing import Any

from shipper.core.timefmt import parse_iso
from shipper.enrich.correlate import HELD, Correlator, Transaction, held_hint
from shipper.report import model as m
from shipper.report.auth import AuthTally
from shipper.report.tally import DomainStats, Tally, UserStats

_FAILED_LINE = {"deferred": 0, "bounced": 1, "undeliverable": 1, "expired": 1}
REJECT, OTHER = 2, 3


class ReportBuilder:
    def __init__(self, correlator: Correlator, tz: tzinfo, tz_name: str, syslog_name: str = "postfix",
                 top: int = 20, day: str | None = None) -> None:  # fmt: skip
        self.tally = Tally(syslog_name=syslog_name)
        self.day = day  # only lines of this local date (YYYY-MM-DD), as pflogsumm -d
        self.correlator = correlator
        self.tz = tz
        self.tz_name = tz_name
        self.top = top
        self.lines = 0
        self.first: str | None = None
        self.last: str | None = None
        self.categories: dict[str, list[int]] = {}  # category -> [deferrals, bounces, rejects, other]
        self.outcomes: Counter[str] = Counter()
        self.stuck = StuckTable(top if top > 0 else None)
        self.auth = AuthTally()
        self.days: tuple[str, str] | None = None  # the first and last local day of every timestamped line read
        self._local: dict[str, tuple[str, int]] = {}  # @timestamp (to the minute) -> (local date, hour)

    def feed(self, event: dict[str, Any]) -> None:
        stamp = event.get("@timestamp")
        if not isinstance(stamp, str):
            self.lines += self.day is None
            return
        day, hour = self._day_hour(stamp)
        self.days = (min(self.days[0], day), max(self.days[1], day)) if self.days else (day, day)
        if self.day is not None and day != self.day:
            return
        self.lines += 1
        self.first = stamp if self.first is None else min(self.first, stamp)
        self.last = stamp if self.last is None else max(self.last, stamp)
        process = event.get("process") or {}
        program, message = process.get("name"), event.get("message")
        if isinstance(program, str) and isinstance(message, str):
            self.tally.feed(program, process.get("pid"), message, day, hour)
        self._category(event)
        self.auth.feed(event, stamp)
        for tx in self.correlator.feed(event):
            self._outcome(tx)

    def _day_hour(self, stamp: str) -> tuple[str, int]:
        minute = stamp[:16]
        found = self._local.get(minute)
        if found is None:
            local = parse_iso(stamp).astimezone(self.tz)
            found = (local.date().isoformat(), local.hour)
            if len(self._local) > 100_000:
                self._local.clear()
            self._local[minute] = found
        return found

    def _category(self, event: dict[str, Any]) -> None:
        mail = event.get("mail")
        reason = mail.get("reason") if isinstance(mail, dict) else None
        category = reason.get("category") if isinstance(reason, dict) else None
        if not isinstance(category, str):
            return
        counts = self.categories.setdefault(category, [0, 0, 0, 0])
        kind = _FAILED_LINE.get(mail.get("status") or "")  # type: ignore[union-attr]
        if kind is None:  # a reject is this server refusing a client; the rest (its own outbound
            kind = REJECT if isinstance(mail.get("reject"), dict) else OTHER  # type: ignore[union-attr]
        counts[kind] += 1

    def _outcome(self, tx: Transaction) -> None:
        self.outcomes["messages"] += 1
        if tx.parent is not None:
            self.outcomes["notifications"] += 1
        if not tx.complete:
            if tx.held:
                self.outcomes["held"] += 1
                self.stuck.add(tx)
            elif tx.deferrals or any(r.status == "deferred" for r in tx.recipients.values()):
                self.outcomes["stuck"] += 1
                self.stuck.add(tx)
            else:
                self.outcomes["in_flight"] += 1
            return
        fates = {r.status for r in tx.recipients.values()}
        if tx.ended_by:
            self.outcomes[tx.ended_by] += 1
        elif not fates:
            self.outcomes["removed_without_delivery"] += 1
        elif fates <= {"sent", "forwarded"}:
            self.outcomes["delivered"] += 1
        elif fates & {"sent", "forwarded"}:
            self.outcomes["partially_delivered"] += 1
        elif fates == {"discarded"}:
            self.outcomes["discarded"] += 1
        elif fates == {"expired"}:
            self.outcomes["expired"] += 1
        else:
            self.outcomes["bounced"] += 1

    def finish(self) -> m.Report:
        for tx in self.correlator.finish():
            self._outcome(tx)
        t = self.tally
        top = self.top if self.top > 0 else None
        return m.Report(
            lines=self.lines, first=self.first, last=self.last, timezone=self.tz_name,
            grand_totals=m.GrandTotals(**t.grand_totals()),
            per_day=[m.DayTraffic(date=d, **_traffic(v)) for d, v in sorted(t.per_day.items()) if any(v)],
            per_hour=[m.HourTraffic(hour=h, **_traffic(t.per_hour.get(h, [0] * 5))) for h in range(24)],
            recipient_domains=[_delivery(d, s) for d, s in _by_count(t.recipient_domains)][:top],
            sending_domains=[m.DomainReceived(domain=d, messages=s.count, bytes=s.size)
                             for d, s in _by_count(t.sending_domains)][:top],
            senders_by_count=_users(t.senders, "count")[:top],
            recipients_by_count=_users(t.recipients, "count")[:top],
            senders_by_size=_users(t.senders, "size")[:top],
            recipients_by_size=_users(t.recipients, "size")[:top],
            deferral_reasons=_reasons(t.deferred_reasons)[:top],
            bounce_reasons=_reasons(t.bounce_reasons)[:top],
            rejects=_reasons(t.rejects)[:top], reject_warnings=_reasons(t.warns)[:top],
            holds=_reasons(t.holds)[:top], discards=_reasons(t.discards)[:top],
            smtp_problems=_reasons(t.smtp_problems)[:top], warnings=_reasons(t.warnings)[:top],
            fatals=_reasons(t.fatals), panics=_reasons(t.panics),
            master=[m.Reason(where="master", reason=k, count=v) for k, v in t.master.most_common(top)],
            messages=m.Outcomes(**{name: self.outcomes[name] for name in m.Outcomes.model_fields}),
            reason_categories=sorted(
                (m.CategoryCount(category=c, deferrals=v[0], bounces=v[1], rejects=v[2], other=v[3], total=sum(v))
                 for c, v in self.categories.items()), key=lambda c: (-c.total, c.category)),
            stuck=self.stuck.section(),
            authentication=self.auth.summary(top),
        )  # fmt: skip


def build(events: Iterable[dict[str, Any]], builder: ReportBuilder) -> m.Report:
    for event in events:
        builder.feed(event)
    return builder.finish()


def _traffic(values: list[int]) -> dict[str, int]:
    return dict(zip(("received", "delivered", "deferred", "bounced", "rejected"), values, strict=True))


def _by_count(stats: dict[str, DomainStats]) -> list[tuple[str, DomainStats]]:
    return sorted(stats.items(), key=lambda item: (-item[1].count, -item[1].size, item[0]))


def _delivery(domain: str, s: DomainStats) -> m.DomainDelivery:
    avg = s.delay_sum / s.count if s.count else 0.0
    return m.DomainDelivery(domain=domain, delivered=s.count, bytes=s.size, deferrals=s.deferrals,
                          avg_delay=round(avg, 2), max_delay=s.delay_max)  # fmt: skip


def _users(stats: dict[str, UserStats], key: str) -> list[m.AddressCount]:
    ordered = sorted(stats.items(), key=lambda item: (-getattr(item[1], key), item[0]))
    return [m.AddressCount(address=a, messages=s.count, bytes=s.size) for a, s in ordered]


def _reasons(counter: Counter[Any]) -> list[m.Reason]:
    out = []
    for key, count in sorted(counter.items(), key=lambda item: (-item[1], item[0])):
        if len(key) == 3:
            out.append(m.Reason(where=key[0], reason=key[1], detail=key[2], count=count))
        else:
            out.append(m.Reason(where=key[0], reason=key[1], count=count))
    return out


class StuckTable:
    """The stuck-mail section, built as messages end: per reason category how many, the `top` that have
    waited longest (None: all) and the hint of the longest waiting that has one. Only those are kept, so
    the report's memory does not grow with mail that stays in the queue (a server with a dead relay keeps
    thousands of messages for days)."""

    def __init__(self, top: int | None) -> None:
        self.top = top
        self.total = 0
        self.sequence = 0  # arrival order breaks ties between equal start times, as a stable sort would
        self.counts: dict[str | None, int] = {}
        self.oldest: dict[str | None, list[_Newest]] = {}  # heaps, the latest on top: at most `top` each
        self.hints: dict[str | None, tuple[str, int, str]] = {}  # the earliest hinted message's (start, seq, hint)

    def add(self, tx: Transaction) -> None:
        item = _stuck(tx)
        key, order = item.category, (tx.start, self.sequence)
        self.total += 1
        self.sequence += 1
        self.counts[key] = self.counts.get(key, 0) + 1
        if item.hint and (key not in self.hints or order < self.hints[key][:2]):
            self.hints[key] = (*order, item.hint)
        kept, entry = self.oldest.setdefault(key, []), _Newest(order, item)
        if self.top is None:
            kept.append(entry)
        elif len(kept) < self.top:
            heapq.heappush(kept, entry)
        elif order < kept[0].order:
            heapq.heapreplace(kept, entry)

    def section(self) -> m.StuckMail:
        """Grouped by reason category (largest group first), each group's longest waiting first."""
        out = []
        for key in sorted(self.counts, key=lambda k: (-self.counts[k], k or "~")):
            listed = [entry.item for entry in sorted(self.oldest[key], key=lambda e: e.order)]
            hint = self.hints.get(key)
            out.append(m.StuckGroup(category=key, hint=hint[2] if hint else None, count=self.counts[key],
                                    messages=listed, more=self.counts[key] - len(listed)))  # fmt: skip
        return m.StuckMail(total=self.total, shown=sum(len(g.messages) for g in out), groups=out)


class _Newest:
    """A heap entry that puts the latest (start, arrival) on top, so the kept `top` are the oldest."""

    __slots__ = ("item", "order")

    def __init__(self, order: tuple[str, int], item: m.StuckMessage) -> None:
        self.order, self.item = order, item

    def __lt__(self, other: _Newest) -> bool:
        return self.order > other.order


def _stuck(tx: Transaction) -> m.StuckMessage:
    waiting = [r for r in tx.recipients.values() if r.status == "deferred"]
    held = tx.held is not None
    # one hint for the whole group, so the release command names a placeholder, not this message's ID
    category, hint = (HELD, held_hint(tx.release_command("QUEUE_ID"))) if held else tx.diagnosis() or (None, None)
    return m.StuckMessage(
        host=tx.host, queue_ids=list(tx.ids), status=tx.status(), sender=tx.sender,
        recipients=[r.address for r in waiting] or (list(tx.recipients) if held else []),
        first_seen=tx.start, last_seen=tx.end, deferrals=tx.deferrals,
        last_reason=next((r.response for r in reversed(waiting) if r.response), None),
        held_since=tx.held_since, held_by=tx.held_by,
        category=category, hint=hint,
    )  # fmt: skip
