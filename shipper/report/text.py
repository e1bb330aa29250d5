"""The report as text, laid out as pflogsumm lays its report out, sizes in its k/m units (the JSON form has
the exact byte counts)."""

from __future__ import annotations

from collections.abc import Iterator

from shipper.report.model import AddressCount, AuthSummary, Reason, Report, StuckMail


def _title(text: str) -> Iterator[str]:
    yield ""
    yield text
    yield "-" * len(text)


def units(value: int) -> str:
    """A byte count as pflogsumm prints it: `k` past 512 KiB, `m` past 500 MiB (its adj_int_units)."""
    if value > 524_288_000:
        return f"{value // 1_048_576}m"
    if value > 524_288:
        return f"{value // 1024}k"
    return str(value)


def _seconds(value: float) -> str:
    for limit, unit, div in ((3600, "h", 3600), (60, "m", 60)):
        if value > limit:
            return f"{value / div:5.1f} {unit}"
    return f"{value:5.1f} s"


def _reasons(title: str, reasons: list[Reason]) -> Iterator[str]:
    if not reasons:
        return
    yield from _title(title)
    where = None
    totals: dict[str, int] = {}
    for item in reasons:
        totals[item.where] = totals.get(item.where, 0) + item.count
    for item in reasons:
        if item.where != where:
            where = item.where
            yield f"  {where} (total: {totals[where]})"
        detail = f"  ({item.detail})" if item.detail else ""
        yield f"    {item.count:6d}   {item.reason}{detail}"


def _addresses(title: str, rows: list[AddressCount], key: str) -> Iterator[str]:
    if not rows:
        return
    yield from _title(title)
    for row in rows:
        value = getattr(row, key)
        yield f" {units(value) if key == 'bytes' else value:>8}   {row.address}"


def render(report: Report) -> Iterator[str]:
    g = report.grand_totals
    span = f"{report.first} .. {report.last}" if report.first else "no timestamps"
    yield f"Mail log summary: {report.lines} lines, {span} (times in {report.timezone})"
    yield from _title("Grand Totals")
    yield "messages"
    yield ""
    yield f" {g.received:8d}  received"
    yield f" {g.delivered:8d}  delivered"
    yield f" {g.forwarded:8d}  forwarded"
    yield f" {g.deferred:8d}  deferred" + (f"  ({g.deferrals} deferrals)" if g.deferrals else "")
    yield f" {g.bounced:8d}  bounced"
    yield f" {g.rejected:8d}  rejected ({g.rejected_percent}%)"
    yield f" {g.reject_warnings:8d}  reject warnings"
    yield f" {g.held:8d}  held"
    yield f" {g.discarded:8d}  discarded ({g.discarded_percent}%)"
    yield ""
    yield f" {units(g.bytes_received):>8}  bytes received"
    yield f" {units(g.bytes_delivered):>8}  bytes delivered"
    yield f" {g.senders:8d}  senders"
    yield f" {g.sending_domains:8d}  sending hosts/domains"
    yield f" {g.recipients:8d}  recipients"
    yield f" {g.recipient_domains:8d}  recipient hosts/domains"
    m = report.messages
    yield from _title("Messages (lines joined by queue ID)")
    yield f" {m.messages:8d}  messages seen"
    for label, value in (
        ("delivered to every recipient", m.delivered), ("partially delivered", m.partially_delivered),
        ("bounced", m.bounced), ("expired", m.expired), ("rejected", m.rejected), ("discarded", m.discarded),
        ("deleted by an admin", m.deleted), ("removed without a delivery in the log", m.removed_without_delivery),
        ("of them bounce notifications", m.notifications), ("stuck (deferred, still queued)", m.stuck),
        ("on hold or frozen (not retried until released)", m.held),
        ("in flight or cut off at the log's end", m.in_flight),
    ):  # fmt: skip
        yield f" {value:8d}  {label}"
    if report.per_day:
        yield from _title("Per-Day Traffic Summary")
        yield "    date          received  delivered   deferred    bounced     rejected"
        for d in report.per_day:
            yield (
                f"    {d.date}  {d.received:9d}  {d.delivered:9d}  {d.deferred:9d}  {d.bounced:9d}  {d.rejected:11d}"
            )
    yield from _title("Per-Hour Traffic Summary")
    yield "    time          received  delivered   deferred    bounced     rejected"
    for h in report.per_hour:
        span = f"{h.hour:02d}00-{(h.hour + 1) % 24:02d}00"
        yield f"    {span}     {h.received:9d}  {h.delivered:9d}  {h.deferred:9d}  {h.bounced:9d}  {h.rejected:11d}"
    if report.recipient_domains:
        yield from _title("Host/Domain Summary: Message Delivery")
        yield " sent cnt       bytes   defers   avg dly   max dly  host/domain"
        for r in report.recipient_domains:
            yield (
                f" {r.delivered:8d}  {units(r.bytes):>10}  {r.deferrals:7d}  {_seconds(r.avg_delay)}"
                f"   {_seconds(r.max_delay)}  {r.domain}"
            )
    if report.sending_domains:
        yield from _title("Host/Domain Summary: Messages Received")
        yield " msg cnt        bytes   host/domain"
        for s in report.sending_domains:
            yield f" {s.messages:7d}  {units(s.bytes):>11}   {s.domain}"
    yield from _addresses("Senders by message count", report.senders_by_count, "messages")
    yield from _addresses("Recipients by message count", report.recipients_by_count, "messages")
    yield from _addresses("Senders by message size", report.senders_by_size, "bytes")
    yield from _addresses("Recipients by message size", report.recipients_by_size, "bytes")
    yield from _reasons("message deferral detail", report.deferral_reasons)
    yield from _reasons("message bounce detail (by relay)", report.bounce_reasons)
    yield from _reasons("message reject detail", report.rejects)
    yield from _reasons("message reject warning detail", report.reject_warnings)
    yield from _reasons("message hold detail", report.holds)
    yield from _reasons("message discard detail", report.discards)
    yield from _reasons("smtp delivery failures", report.smtp_problems)
    yield from _reasons("Warnings", report.warnings)
    yield from _reasons("Fatal Errors", report.fatals)
    yield from _reasons("Panics", report.panics)
    yield from _reasons("Master daemon messages", report.master)
    if report.reason_categories:
        yield from _title("Why mail failed (reason categories)")
        yield "   deferrals   bounces   rejects     other  category"
        for c in report.reason_categories:
            yield f"   {c.deferrals:9d} {c.bounces:9d} {c.rejects:9d} {c.other:9d}  {c.category}"
        yield "   (rejects: this server refusing a client; other: its own failed connections and relay logins)"
    yield from _stuck(report.stuck)
    yield from _auth(report.authentication)


def _auth(auth: AuthSummary) -> Iterator[str]:
    if not auth.failures and not auth.successes:
        return
    yield from _title("Authentication (every source: SMTP AUTH, IMAP/POP3, SSH, PAM, ...)")
    yield f" {auth.failures:8d}  failed logins, from {auth.sources} address(es)"
    yield f" {auth.successes:8d}  successful logins"
    if auth.successes_after_failures:
        yield ""
        yield "  LOGINS THAT SUCCEEDED FROM AN ADDRESS THAT HAD FAILED BEFORE (a guessed password?):"
        for s in auth.successes_after_failures:
            yield (f"    {s.at}  {s.ip}  {s.user or '?'} via {s.service}, after {s.failures_before} failure(s)"
                   f" since {s.first_failure} ({s.users_tried} account(s) tried)")  # fmt: skip
    yield ""
    yield "  by service:"
    yield "    failures  successes  service"
    for v in auth.by_service:
        yield f"    {v.failures:8d}  {v.successes:9d}  {v.service}"
    if auth.by_source:
        yield ""
        yield "  failed logins by source address:"
        yield "    failures  accounts  address          services; first .. last"
        for a in auth.by_source:
            yield f"    {a.failures:8d}  {a.users:8d}  {a.ip:<15}  {', '.join(a.services)}; {a.first} .. {a.last}"
    if auth.by_user:
        yield ""
        yield "  failed logins by account:"
        yield "    failures  addresses  account"
        for u in auth.by_user:
            yield f"    {u.failures:8d}  {u.sources:9d}  {u.user}"


def _stuck(stuck: StuckMail) -> Iterator[str]:
    if not stuck.total:
        return
    shown = "" if stuck.shown == stuck.total else f", the longest waiting {stuck.shown} shown"
    yield from _title(f"Stuck mail: {stuck.total} message(s) not delivered when the log ends{shown}")
    for group in stuck.groups:
        yield ""
        yield f"  {group.category or 'unclassified'}: {group.count} message(s)"
        if group.hint:
            yield f"    hint: {group.hint}"
        for item in group.messages:
            yield (f"    {' -> '.join(item.queue_ids)} on {item.host}, {item.status}, since {item.first_seen},"
                   f" from <{item.sender or ''}> to {', '.join(item.recipients) or '?'}")  # fmt: skip
            if item.held_since:
                yield f"        {item.status} since {item.held_since} by {item.held_by}"
            if item.deferrals:
                yield f"        deferred {item.deferrals} time(s)" + (
                    f"; last reply: {item.last_reason}" if item.last_reason else ""
                )
        if group.more:
            yield f"    ... and {group.more} more"
