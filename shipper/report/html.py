"""The report as one self-contained HTML page: no scripts, no external files, so it can be mailed or
archived. Laid out for a screen: summary cards and the charts first, a table of contents, then the
sections; SVG charts scale to the page's width (viewBox), long tables show their first rows and fold the
rest into <details>, and long unbroken strings (replies, addresses) wrap instead of widening the page.
Every string from a log is escaped."""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape

from shipper.report.model import AddressCount, AuthSummary, Reason, Report, StuckMail, StuckMessage, Traffic
from shipper.report.text import units

SERIES = (("received", "#4e79a7"), ("delivered", "#59a14f"), ("deferred", "#f28e2b"), ("bounced", "#e15759"),
          ("rejected", "#76706e"))  # fmt: skip
FOLD_AFTER = 10  # rows shown before a table's rest is folded away
STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1280px;padding:0 1em;color:#222;line-height:1.35}
h1{margin-bottom:.2em} h2{margin-top:1.8em;border-bottom:2px solid #4e79a7;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0 1em;max-width:100%}
td,th{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:right;vertical-align:top}
td.t,th.t{text-align:left}
td.t{overflow-wrap:break-word}
th{background:#f4f6f9;white-space:nowrap}
.cards{display:flex;flex-wrap:wrap;gap:.8em;margin:1em 0}
.card{flex:1 1 9em;border:1px solid #dde3ea;border-radius:8px;padding:.6em .9em;background:#fafbfd}
.card b{display:block;font-size:1.7em} .card span{color:#555;font-size:.9em}
.card.bad b{color:#c0392b} .card.warn b{color:#d35400}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:1.2em}
.charts .wide{grid-column:1/-1}
svg{width:100%;height:auto;display:block}
.legend span{display:inline-block;margin-right:1em;font-size:.9em}
.legend i{display:inline-block;width:.8em;height:.8em;margin-right:.3em}
nav ol{columns:3 14em;padding-left:1.2em} details summary{cursor:pointer;color:#4e79a7;margin:.3em 0}
p.note{color:#555;font-size:.9em}
"""


_LONG = re.compile(r"\S{28,}")
_PIECE = re.compile(r".{1,20}(?:[./@:\[\]_=-]|$)|.{20}")


def _breakable(text: str) -> str:
    """Escaped, with break opportunities (<wbr>) inside long unbroken tokens (an address, a host name, a reply
    without spaces) after their punctuation, so a cell wraps there instead of widening the page; ordinary
    words are never split."""
    out, last = [], 0
    for token in _LONG.finditer(text):
        out.append(escape(text[last : token.start()]))
        out.append("<wbr>".join(escape(piece) for piece in _PIECE.findall(token.group())))
        last = token.end()
    out.append(escape(text[last:]))
    return "".join(out)


def _table(head: Sequence[str], rows: Sequence[Sequence[object]], text_columns: int = 1) -> str:
    def cell(tag: str, i: int, value: object) -> str:
        cls = ' class="t"' if i >= len(head) - text_columns else ""
        return f"<{tag}{cls}>{_breakable(str(value))}</{tag}>"

    def html_rows(part: Sequence[Sequence[object]]) -> str:
        return "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in part)

    header = "<tr>" + "".join(cell("th", i, h) for i, h in enumerate(head)) + "</tr>"
    shown = f"<table>{header}{html_rows(rows[:FOLD_AFTER])}</table>"
    if len(rows) <= FOLD_AFTER + 2:
        return f"<table>{header}{html_rows(rows)}</table>"
    rest = f"<table>{header}{html_rows(rows[FOLD_AFTER:])}</table>"
    return f"{shown}<details><summary>{len(rows) - FOLD_AFTER} more rows</summary>{rest}</details>"


def _chart(labels: Sequence[str], rows: Sequence[Traffic], title: str) -> str:
    """Grouped bars, one group per label, one bar per series; it scales to its column (viewBox)."""
    if not rows:
        return ""
    peak = max((getattr(r, name) for r in rows for name, _ in SERIES), default=0) or 1
    group, bar, height, left, bottom = 5 * 8 + 10, 8, 180, 48, 28
    width = left + group * len(rows) + 10
    every = max(1, len(rows) // 16)  # at most ~16 axis labels, so they stay readable
    parts = [f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height + bottom + 8}" '
             f'xmlns="http://www.w3.org/2000/svg" font-size="13">']  # fmt: skip
    for tick in (0, peak // 2, peak):
        y = height - tick / peak * height + 5
        parts.append(f'<text x="{left - 6}" y="{y + 4:.0f}" text-anchor="end" fill="#444">{tick}</text>')
        parts.append(f'<line x1="{left}" x2="{width}" y1="{y:.0f}" y2="{y:.0f}" stroke="#e5e5e5"/>')
    for i, (label, row) in enumerate(zip(labels, rows, strict=True)):
        x0 = left + i * group
        for j, (name, colour) in enumerate(SERIES):
            value = getattr(row, name)
            h = value / peak * height
            parts.append(
                f'<rect x="{x0 + j * bar}" y="{height - h + 5:.1f}" width="{bar - 1}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(label)} {name}: {value}</title></rect>'
            )
        if i % every == 0:
            parts.append(f'<text x="{x0 + 5 * bar / 2:.0f}" y="{height + 24}" text-anchor="middle" fill="#444">'
                         f"{escape(label)}</text>")  # fmt: skip
    parts.append("</svg>")
    legend = "".join(f'<span><i style="background:{c}"></i>{n}</span>' for n, c in SERIES)
    wide = ' class="wide"' if len(rows) > 12 else ""
    return f'<div{wide}><h3>{escape(title)}</h3><div class="legend">{legend}</div>{"".join(parts)}</div>'


def _bars(items: Sequence[tuple[str, int]], title: str) -> str:
    """Horizontal bars, for reason categories."""
    if not items:
        return ""
    peak = max(v for _, v in items) or 1
    rows = []
    for i, (label, value) in enumerate(items):
        y = i * 24
        rows.append(
            f'<text x="0" y="{y + 16}">{escape(label)}</text>'
            f'<rect x="210" y="{y + 4}" width="{value / peak * 380:.1f}" height="17" fill="#e15759"/>'
            f'<text x="{216 + value / peak * 380:.0f}" y="{y + 17}">{value}</text>'
        )
    return (f'<div><h3>{escape(title)}</h3><svg role="img" aria-label="{escape(title)}" '
            f'viewBox="0 0 660 {len(items) * 24 + 8}" xmlns="http://www.w3.org/2000/svg" font-size="13">'
            + "".join(rows) + "</svg></div>")  # fmt: skip


def _reasons(title: str, reasons: list[Reason]) -> tuple[str, str]:
    if not reasons:
        return title, ""
    rows = [(r.count, r.where, r.reason, r.detail or "") for r in reasons]
    return title, _table(("count", "where", "reason", "detail"), rows, 3)


def _addresses(title: str, rows: list[AddressCount], key: str) -> tuple[str, str]:
    if not rows:
        return title, ""
    if key == "bytes":
        return title, _table(("bytes", "messages", "address"), [(units(r.bytes), r.messages, r.address) for r in rows])
    return title, _table(("messages", "bytes", "address"), [(r.messages, units(r.bytes), r.address) for r in rows])


def _held_or_reply(item: StuckMessage) -> str:
    held = f"{item.status} since {item.held_since} by {item.held_by}" if item.held_since else ""
    return "; ".join(x for x in (held, item.last_reason or "") if x)


def _stuck(stuck: StuckMail) -> str:
    if not stuck.total:
        return ""
    shown = "" if stuck.shown == stuck.total else f", the longest waiting {stuck.shown} shown"
    out = [f"<p>{stuck.total} message(s) not delivered when the log ends{shown}.</p>"]
    for group in stuck.groups:
        out.append(f"<h3>{escape(group.category or 'unclassified')}: {group.count}</h3>")
        if group.hint:
            out.append(f"<p>Hint: {escape(group.hint)}</p>")
        rows = [(" -> ".join(s.queue_ids), s.host, s.status, s.first_seen, s.sender or "", ", ".join(s.recipients),
                 s.deferrals, _held_or_reply(s)) for s in group.messages]  # fmt: skip
        out.append(_table(("queue IDs", "host", "status", "since", "from", "waiting for", "deferrals",
                           "last reply (or hold)"), rows, 8))  # fmt: skip
        if group.more:
            out.append(f"<p>... and {group.more} more.</p>")
    return "".join(out)


def _auth(auth: AuthSummary) -> str:
    if not auth.failures and not auth.successes:
        return ""
    out = [f"<p>{auth.failures} failed logins from {auth.sources} address(es), {auth.successes} successful, "
           "across every source (SMTP AUTH, IMAP/POP3, SSH, PAM, ...).</p>"]  # fmt: skip
    if auth.successes_after_failures:
        rows = [(s.at, s.ip, s.user or "", s.service, s.failures_before, s.first_failure, s.users_tried)
                for s in auth.successes_after_failures]  # fmt: skip
        out.append(
            "<h3>Logins that succeeded from an address that had failed before</h3>"
            + _table(
                ("at", "address", "account", "service", "failures before", "first failure", "accounts tried"), rows, 7
            )
        )
    services = [(v.failures, v.successes, v.service) for v in auth.by_service]
    out.append("<h3>By service</h3>" + _table(("failures", "successes", "service"), services))
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


def _cards(report: Report) -> str:
    g, m, auth = report.grand_totals, report.messages, report.authentication
    cards = [
        (g.received, "received", ""), (g.delivered, "delivered", ""), (g.deferred, "deferred", "warn"),
        (g.bounced, "bounced", "bad"), (g.rejected, f"rejected ({g.rejected_percent}%)", "warn"),
        (m.stuck + m.held, "stuck or held at the end", "bad" if m.stuck + m.held else ""),
        (auth.failures, "failed logins", "warn" if auth.failures else ""),
        (len(auth.successes_after_failures), "logins after failures", "bad" if auth.successes_after_failures else ""),
        (units(g.bytes_received), "bytes received", ""),
    ]  # fmt: skip
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card {kind}"><b>{escape(str(value))}</b><span>{escape(label)}</span></div>'
            for value, label, kind in cards
        )
        + "</div>"
    )


def _anchor(title: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")


def render(report: Report) -> str:
    span = f"{report.first} .. {report.last}" if report.first else "no timestamps"
    charts = [
        _chart([f"{h.hour:02d}" for h in report.per_hour], report.per_hour, "Traffic per hour of day"),
        _chart([d.date[5:] for d in report.per_day], report.per_day, "Traffic per day") if len(report.per_day) > 1
        else "",
        _bars([(c.category, c.total) for c in report.reason_categories], "Why mail failed"),
    ]  # fmt: skip
    categories = ""
    if report.reason_categories:
        rows = [(c.deferrals, c.bounces, c.rejects, c.other, c.category) for c in report.reason_categories]
        categories = _table(("deferrals", "bounces", "rejects", "other", "category"), rows) + (
            '<p class="note">Rejects: this server refusing a client. Other: its own failed connections and relay'
            " logins.</p>")  # fmt: skip
    g = report.grand_totals.model_dump()
    m = report.messages.model_dump()
    sections: list[tuple[str, str]] = [
        ("Stuck mail", _stuck(report.stuck)),
        ("Authentication", _auth(report.authentication)),
        ("Why mail failed", categories),
        ("Grand totals", '<p class="note">As pflogsumm counts them.</p>' + _table(
            ("count", "what"), [(units(v) if k.startswith("bytes") else v, k.replace("_", " "))
                                for k, v in g.items()])),
        ("Messages", '<p class="note">Lines joined by queue ID into one message each.</p>' + _table(
            ("count", "outcome"), [(v, k.replace("_", " ")) for k, v in m.items()])),
        ("Delivery by recipient domain", _table(
            ("sent", "bytes", "deferrals", "avg delay s", "max delay s", "domain"),
            [(d.delivered, units(d.bytes), d.deferrals, d.avg_delay, d.max_delay, d.domain)
             for d in report.recipient_domains]) if report.recipient_domains else ""),
        ("Received by sending domain", _table(
            ("messages", "bytes", "domain"), [(d.messages, units(d.bytes), d.domain) for d in report.sending_domains])
         if report.sending_domains else ""),
        _addresses("Senders by message count", report.senders_by_count, "messages"),
        _addresses("Recipients by message count", report.recipients_by_count, "messages"),
        _addresses("Senders by message size", report.senders_by_size, "bytes"),
        _addresses("Recipients by message size", report.recipients_by_size, "bytes"),
        _reasons("Deferrals", report.deferral_reasons), _reasons("Bounces (by relay)", report.bounce_reasons),
        _reasons("Rejects", report.rejects), _reasons("Reject warnings", report.reject_warnings),
        _reasons("Holds", report.holds), _reasons("Discards", report.discards),
        _reasons("SMTP delivery failures", report.smtp_problems), _reasons("Warnings", report.warnings),
        _reasons("Fatal errors", report.fatals), _reasons("Panics", report.panics),
        _reasons("Master daemon", report.master),
    ]  # fmt: skip
    present = [(title, body) for title, body in sections if body]
    toc = "<nav><h2>Contents</h2><ol>" + "".join(
        f'<li><a href="#{_anchor(t)}">{escape(t)}</a></li>' for t, _ in present) + "</ol></nav>"  # fmt: skip
    body = [
        f"<h1>Mail log summary</h1><p>{report.lines} lines, {escape(span)} (times in {escape(report.timezone)})</p>",
        _cards(report),
        '<div class="charts">' + "".join(c for c in charts if c) + "</div>",
        toc,
        *(f'<h2 id="{_anchor(t)}">{escape(t)}</h2>{b}' for t, b in present),
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Mail log summary</title>'
        f"<style>{STYLE}</style></head><body>" + "\n".join(b for b in body if b) + "</body></html>\n"
    )
