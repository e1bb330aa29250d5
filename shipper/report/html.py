"""The report as one self-contained HTML page: tables, and SVG bar charts drawn here (no scripts, no
external files, so it can be mailed or archived). Every string from a log is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from shipper.report.model import AddressCount, AuthSummary, Reason, Report, StuckMail, StuckMessage, Traffic

SERIES = (("received", "#4e79a7"), ("delivered", "#59a14f"), ("deferred", "#f28e2b"), ("bounced", "#e15759"),
          ("rejected", "#76706e"))  # fmt: skip
STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border-bottom:1px solid #ddd;padding:.2em .6em;text-align:right}
td.t,th.t{text-align:left}
h2{margin-top:1.6em;border-bottom:2px solid #4e79a7}
.legend span{display:inline-block;margin-right:1em}
.legend i{display:inline-block;width:.8em;height:.8em;margin-right:.3em}
"""


def _table(head: Sequence[str], rows: Sequence[Sequence[object]], text_columns: int = 1) -> str:
    def cell(tag: str, i: int, value: object) -> str:
        cls = ' class="t"' if i >= len(head) - text_columns else ""
        return f"<{tag}{cls}>{escape(str(value))}</{tag}>"

    out = ["<table><tr>", *(cell("th", i, h) for i, h in enumerate(head)), "</tr>"]
    for row in rows:
        out += ["<tr>", *(cell("td", i, v) for i, v in enumerate(row)), "</tr>"]
    out.append("</table>")
    return "".join(out)


def _chart(labels: Sequence[str], rows: Sequence[Traffic], title: str) -> str:
    """Grouped bars, one group per label, one bar per series."""
    if not rows:
        return ""
    peak = max((getattr(r, name) for r in rows for name, _ in SERIES), default=0) or 1
    group, bar, height, left = 5 * 7 + 8, 7, 160, 40
    width = left + group * len(rows) + 10
    parts = [f'<svg role="img" aria-label="{escape(title)}" width="{width}" height="{height + 40}" '
             f'xmlns="http://www.w3.org/2000/svg" font-size="10">']  # fmt: skip
    for tick in (0, peak // 2, peak):
        y = height - tick / peak * height + 5
        parts.append(f'<text x="{left - 4}" y="{y + 3:.0f}" text-anchor="end">{tick}</text>')
        parts.append(f'<line x1="{left}" x2="{width}" y1="{y:.0f}" y2="{y:.0f}" stroke="#eee"/>')
    for i, (label, row) in enumerate(zip(labels, rows, strict=True)):
        x0 = left + i * group
        for j, (name, colour) in enumerate(SERIES):
            value = getattr(row, name)
            h = value / peak * height
            parts.append(
                f'<rect x="{x0 + j * bar}" y="{height - h + 5:.1f}" width="{bar - 1}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(label)} {name}: {value}</title></rect>'
            )
        parts.append(f'<text x="{x0 + group / 2 - 4:.0f}" y="{height + 20}" text-anchor="middle">'
                     f"{escape(label)}</text>")  # fmt: skip
    parts.append("</svg>")
    legend = "".join(f'<span><i style="background:{c}"></i>{n}</span>' for n, c in SERIES)
    return f'<h3>{escape(title)}</h3><div class="legend">{legend}</div>' + "".join(parts)


def _bars(items: Sequence[tuple[str, int]], title: str) -> str:
    """Horizontal bars, for reason categories."""
    if not items:
        return ""
    peak = max(v for _, v in items) or 1
    rows = []
    for i, (label, value) in enumerate(items):
        y = i * 22
        rows.append(
            f'<text x="0" y="{y + 14}">{escape(label)}</text>'
            f'<rect x="200" y="{y + 3}" width="{value / peak * 400:.1f}" height="16" fill="#e15759"/>'
            f'<text x="{205 + value / peak * 400:.0f}" y="{y + 14}">{value}</text>'
        )
    return (f'<h3>{escape(title)}</h3><svg role="img" aria-label="{escape(title)}" width="680" '
            f'height="{len(items) * 22 + 6}" xmlns="http://www.w3.org/2000/svg" font-size="12">'
            + "".join(rows) + "</svg>")  # fmt: skip


def _reasons(title: str, reasons: list[Reason]) -> str:
    if not reasons:
        return ""
    rows = [(r.count, r.where, r.reason, r.detail or "") for r in reasons]
    return f"<h2>{escape(title)}</h2>" + _table(("count", "where", "reason", "detail"), rows, 3)


def _addresses(title: str, rows: list[AddressCount]) -> str:
    if not rows:
        return ""
    return f"<h2>{escape(title)}</h2>" + _table(
        ("messages", "bytes", "address"), [(r.messages, r.bytes, r.address) for r in rows]
    )


def _held_or_reply(item: StuckMessage) -> str:
    held = f"{item.status} since {item.held_since} by {item.held_by}" if item.held_since else ""
    return "; ".join(x for x in (held, item.last_reason or "") if x)


def _stuck(stuck: StuckMail) -> str:
    if not stuck.total:
        return ""
    shown = "" if stuck.shown == stuck.total else f", the longest waiting {stuck.shown} shown"
    out = [f"<h2>Stuck mail</h2><p>{stuck.total} message(s) not delivered when the log ends{shown}.</p>"]
    for group in stuck.groups:
        out.append(f"<h3>{escape(group.category or 'unclassified')}: {group.count}</h3>")
        if group.hint:
            out.append(f"<p>Hint: {escape(group.hint)}</p>")
        rows = [(" -> ".join(s.queue_ids), s.host, s.status, s.first_seen, s.sender or "", ", ".join(s.recipients),
                 s.deferrals, _held_or_reply(s)) for s in group.messages]  # fmt: skip
        out.append(_table(("queue IDs", "host", "status", "since", "from", "waiting for", "deferrals",
                           "last reply"), rows, 8))  # fmt: skip
        if group.more:
            out.append(f"<p>... and {group.more} more.</p>")
    return "".join(out)


def _auth(auth: AuthSummary) -> str:
    if not auth.failures and not auth.successes:
        return ""
    out = [
        f"<h2>Authentication</h2><p>{auth.failures} failed logins from {auth.sources} address(es), "
        f"{auth.successes} successful, across every source (SMTP AUTH, IMAP/POP3, SSH, PAM, ...).</p>"
    ]
    if auth.successes_after_failures:
        rows = [(s.at, s.ip, s.user or "", s.service, s.failures_before, s.first_failure, s.users_tried)
                for s in auth.successes_after_failures]  # fmt: skip
        out.append(
            "<h3>Logins that succeeded from an address that had failed before</h3>"
            + _table(
                ("at", "address", "account", "service", "failures before", "first failure", "accounts tried"), rows, 7
            )
        )
    out.append(
        "<h3>By service</h3>"
        + _table(("failures", "successes", "service"), [(v.failures, v.successes, v.service) for v in auth.by_service])
    )
    if auth.by_source:
        sources = [(a.failures, a.users, a.ip, ", ".join(a.services), a.first, a.last) for a in auth.by_source]
        out.append(
            "<h3>Failed logins by source address</h3>"
            + _table(("failures", "accounts tried", "address", "services", "first", "last"), sources, 4)
        )
    if auth.by_user:
        users = [(u.failures, u.sources, u.user) for u in auth.by_user]
        out.append("<h3>Failed logins by account</h3>" + _table(("failures", "addresses", "account"), users))
    return "".join(out)


def render(report: Report) -> str:
    g = report.grand_totals.model_dump()
    m = report.messages.model_dump()
    span = f"{report.first} .. {report.last}" if report.first else "no timestamps"
    body = [
        f"<h1>Mail log summary</h1><p>{report.lines} lines, {escape(span)} (times in {escape(report.timezone)})</p>",
        "<h2>Grand totals</h2><p>As pflogsumm counts them.</p>",
        _table(("count", "what"), [(v, k.replace("_", " ")) for k, v in g.items()]),
        "<h2>Messages</h2><p>Lines joined by queue ID into one message each.</p>",
        _table(("count", "outcome"), [(v, k.replace("_", " ")) for k, v in m.items()]),
        "<h2>Traffic</h2>",
        _chart([d.date[5:] for d in report.per_day], report.per_day, "per day") if len(report.per_day) > 1 else "",
        _chart([f"{h.hour:02d}" for h in report.per_hour], report.per_hour, "per hour of day"),
    ]
    if report.reason_categories:
        body.append(_bars([(c.category, c.total) for c in report.reason_categories], "why mail failed"))
        reasons = [(c.deferrals, c.bounces, c.rejects, c.other, c.category) for c in report.reason_categories]
        body.append(_table(("deferrals", "bounces", "rejects", "other", "category"), reasons)
                    + "<p>Rejects: this server refusing a client. Other: its own failed connections and relay "
                    "logins.</p>")  # fmt: skip
    body.append(_stuck(report.stuck))
    body.append(_auth(report.authentication))
    if report.recipient_domains:
        domains = [
            (d.delivered, d.bytes, d.deferrals, d.avg_delay, d.max_delay, d.domain) for d in report.recipient_domains
        ]
        head = ("sent", "bytes", "deferrals", "avg delay s", "max delay s", "domain")
        body.append("<h2>Delivery by recipient domain</h2>" + _table(head, domains))
    if report.sending_domains:
        senders = [(d.messages, d.bytes, d.domain) for d in report.sending_domains]
        body.append("<h2>Received by sending domain</h2>" + _table(("messages", "bytes", "domain"), senders))
    body += [
        _addresses("Senders by message count", report.senders_by_count),
        _addresses("Recipients by message count", report.recipients_by_count),
        _addresses("Senders by message size", report.senders_by_size),
        _addresses("Recipients by message size", report.recipients_by_size),
        _reasons("Deferrals", report.deferral_reasons), _reasons("Bounces (by relay)", report.bounce_reasons),
        _reasons("Rejects", report.rejects), _reasons("Reject warnings", report.reject_warnings),
        _reasons("Holds", report.holds), _reasons("Discards", report.discards),
        _reasons("SMTP delivery failures", report.smtp_problems), _reasons("Warnings", report.warnings),
        _reasons("Fatal errors", report.fatals), _reasons("Panics", report.panics),
        _reasons("Master daemon", report.master),
    ]  # fmt: skip
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Mail log summary</title>'
        f"<style>{STYLE}</style></head><body>" + "\n".join(b for b in body if b) + "</body></html>\n"
    )
