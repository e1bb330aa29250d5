"""The report's own parts: message outcomes against a simulated log's truth, the stuck list with its
diagnosis, and the text and HTML forms."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest

from shipper.enrich.correlate import Correlator
from shipper.parse.packs import load_packs
from shipper.parse.parser import Parser
from shipper.report import html, text
from shipper.report.build import ReportBuilder, build
from shipper.report.model import Report
from tests.mailsim import Simulation


def report_of(lines: list[str], reference, top: int = 20) -> Report:
    parser = Parser(timezone="UTC", reference=reference)
    builder = ReportBuilder(Correlator(load_packs()), ZoneInfo("UTC"), "UTC", top=top)
    return build((parser.parse_doc(line)[0] for line in lines), builder)


@pytest.fixture(scope="module")
def simulated() -> tuple[Simulation, Report]:
    sim = Simulation(seed=9, hours=10).run(1500)
    return sim, report_of([line.text for line in sim.lines], sim.end.date(), top=0)


def expected_outcome(truth) -> str:
    if not truth.complete:
        return "stuck" if "deferred" in truth.recipients.values() else "in_flight"
    fates = set(truth.recipients.values())
    if truth.rejected:
        return "rejected"
    if fates == {"sent"}:
        return "delivered"
    if "sent" in fates:
        return "partially_delivered"
    return "expired" if fates == {"expired"} else "bounced"


def test_message_outcomes_match_the_truth(simulated):
    sim, report = simulated
    counts = Counter(expected_outcome(t) for t in sim.truth)
    got = report.messages.model_dump()
    assert got["messages"] == len(sim.truth)
    assert got["notifications"] == sum(1 for t in sim.truth if t.parent)
    for outcome in ("delivered", "partially_delivered", "bounced", "expired", "rejected", "stuck", "in_flight"):
        assert got[outcome] == counts[outcome], outcome
    assert counts["stuck"] and counts["partially_delivered"] and counts["expired"] and counts["bounced"]


def test_the_message_stuck_on_a_smarthost_wanting_sasl_is_listed_with_its_hint(simulated):
    _, report = simulated
    sasl = [s for g in report.stuck.groups for s in g.messages if s.category == "relay authentication"]
    assert sasl and "smtp_sasl_password_maps" in (sasl[0].hint or "")
    assert sasl[0].sender and sasl[0].recipients and sasl[0].deferrals >= 1
    categories = {c.category: c for c in report.reason_categories}
    assert categories["relay authentication"].deferrals >= 1
    assert categories["blocklisted"].rejects > 0


def test_traffic_per_day_and_hour_add_up_to_the_totals(simulated):
    _, report = simulated
    totals = report.grand_totals
    assert [d.date for d in report.per_day] == ["2025-12-31", "2026-01-01"]
    for name in ("received", "delivered", "bounced", "rejected"):
        assert sum(getattr(d, name) for d in report.per_day) == getattr(totals, name)
        assert sum(getattr(h, name) for h in report.per_hour) == getattr(totals, name)
    assert sum(d.deferred for d in report.per_day) == totals.deferrals
    assert sum(d.delivered for d in report.recipient_domains) == totals.delivered


HOSTILE = [
    "Nov 28 10:00:00 mx postfix/smtpd[1]: 1A2B3C4D5E: client=evil.example[192.0.2.66]",
    "Nov 28 10:00:00 mx postfix/qmgr[2]: 1A2B3C4D5E: from=<x@evil.example>, size=10, nrcpt=1 (queue active)",
    "Nov 28 10:00:00 mx postfix/smtpd[1]: warning: <script>alert(1)</script>: hostname does not resolve",
    "Nov 28 10:00:01 mx postfix/smtp[3]: 1A2B3C4D5E: to=<a&b@example.org>, relay=mx.example.org[192.0.2.1]:25, "
    "delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)",
    "Nov 28 10:00:01 mx postfix/qmgr[2]: 1A2B3C4D5E: removed",
]


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: Counter[str] = Counter()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        if tag not in ("meta", "br", "wbr", "line", "rect"):  # void elements (and SVG shapes closed later)
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags[tag] += 1

    def handle_endtag(self, tag):
        if tag in ("line", "rect"):
            return
        assert self.stack and self.stack[-1] == tag, (self.stack[-3:], tag)
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_well_formed_has_charts_and_escapes_log_text(simulated):
    from datetime import date

    _, report = simulated
    checker = _Checker()
    checker.feed(html.render(report))
    assert checker.stack == [] and checker.tags["svg"] >= 2 and checker.tags["table"] > 5
    page = html.render(report_of(HOSTILE, date(2026, 11, 28)))
    assert "<script>" not in page and "&lt;script&gt;" in page and "a&amp;b@example.org" in page


def test_text_reads_like_pflogsumm(simulated):
    _, report = simulated
    out = "\n".join(text.render(report))
    for heading in ("Grand Totals", "Per-Day Traffic Summary", "Per-Hour Traffic Summary",
                    "Host/Domain Summary: Message Delivery", "Senders by message count", "message deferral detail",
                    "message bounce detail (by relay)", "message reject detail", "Why mail failed",
                    "Stuck mail"):  # fmt: skip
        assert f"\n{heading}" in out, heading
    assert f"{report.grand_totals.delivered:8d}  delivered" in out


def test_the_stuck_list_says_how_many_are_not_shown_and_gives_each_hint_once(simulated):
    sim, _ = simulated
    report = report_of([line.text for line in sim.lines], sim.end.date(), top=2)
    stuck = report.stuck
    assert stuck.total == report.messages.stuck + report.messages.held > stuck.shown
    assert sum(g.count for g in stuck.groups) == stuck.total
    assert all(len(g.messages) <= 2 and g.more == g.count - len(g.messages) for g in stuck.groups)
    out = "\n".join(text.render(report))
    assert f"Stuck mail: {stuck.total} message(s) not delivered when the log ends, the longest waiting" in out
    crowded = next(g for g in stuck.groups if g.more)
    assert f"  {crowded.category or 'unclassified'}: {crowded.count} message(s)" in out
    assert f"    ... and {crowded.more} more" in out
    for group in stuck.groups:
        if group.hint:
            assert out.count(f"hint: {group.hint}") == 1  # once for the group, not per message
    as_json = report.model_dump()["stuck"]
    assert as_json["total"] == stuck.total and as_json["groups"][0]["more"] == stuck.groups[0].more


HELD_AND_REFUSED = """\
Nov 28 10:00:00 mx postfix/qmgr[12]: 3C4D5E6F70: from=<app@example.com>, size=900, nrcpt=1 (queue active)
Nov 28 10:00:01 mx postfix/smtp[13]: 3C4D5E6F70: to=<x@remote.test>, relay=none, delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to mx.remote.test[203.0.113.5]:25: Connection refused)
Nov 28 10:00:01 mx postfix/smtp[13]: connect to mx.remote.test[203.0.113.5]:25: Connection refused
Nov 28 10:00:02 mx postfix/smtp[14]: connect to mx2.remote.test[203.0.113.6]:25: Connection refused
Nov 28 10:01:00 mx postfix/smtpd[20]: NOQUEUE: reject: RCPT from unknown[198.51.100.9]: 554 5.7.1 Service unavailable; Client host [198.51.100.9] blocked using zen.spamhaus.org; from=<s@spam.test> to=<bob@example.com> proto=ESMTP helo=<x>
Nov 28 10:30:00 mx postfix/postsuper[40]: 3C4D5E6F70: placed on hold
""".splitlines()


def test_a_held_message_is_listed_as_held_with_the_release_command_not_as_deferred():
    from datetime import date

    report = report_of(HELD_AND_REFUSED, date(2026, 11, 28))
    assert report.messages.held == 1 and report.messages.stuck == 0
    (group,) = report.stuck.groups
    assert group.category == "on hold" and "postsuper -H QUEUE_ID" in (group.hint or "")
    (item,) = group.messages
    assert (item.status, item.held_since, item.held_by) == ("held", "2026-11-28T10:30:00Z", "postfix/postsuper")
    assert item.last_reason == "connect to mx.remote.test[203.0.113.5]:25: Connection refused"
    out = "\n".join(text.render(report))
    assert "held since 2026-11-28T10:30:00Z by postfix/postsuper" in out and "relayhost" not in out
    page = html.render(report)
    assert "held since 2026-11-28T10:30:00Z by postfix/postsuper; connect to mx.remote.test" in page


def test_outbound_connection_failures_are_not_counted_as_rejects():
    from datetime import date

    report = report_of(HELD_AND_REFUSED, date(2026, 11, 28))
    categories = {c.category: c for c in report.reason_categories}
    refused = categories["connection refused"]
    assert (refused.deferrals, refused.rejects, refused.other) == (1, 0, 2)
    assert categories["blocklisted"].rejects == 1


AUTH = """\
Nov 28 10:00:00 mx sshd[100]: Failed password for root from 203.0.113.9 port 40000 ssh2
Nov 28 10:00:01 mx sshd[100]: Failed password for invalid user admin from 203.0.113.9 port 40001 ssh2
Nov 28 10:00:02 mx postfix/submission/smtpd[2521]: warning: unknown[203.0.113.9]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=bob@example.com
Nov 28 10:00:03 mx dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<bob@example.com>, method=PLAIN, rip=198.51.100.20, lip=192.0.2.1, session=<abc>
Nov 28 10:00:04 mx dovecot: imap-login: Login: user=<carol@example.com>, method=PLAIN, rip=198.51.100.21, lip=192.0.2.1, mpid=5, session=<def>
Nov 28 10:00:05 mx sshd[101]: Accepted password for bob from 203.0.113.9 port 40002 ssh2
Nov 28 10:00:06 mx sshd[102]: Accepted password for bob from 203.0.113.9 port 40003 ssh2
""".splitlines()


def test_the_authentication_section_counts_failures_by_address_account_service_and_flags_a_success_after_them():
    from datetime import date

    auth = report_of(AUTH, date(2026, 11, 28)).authentication
    assert (auth.failures, auth.successes, auth.sources) == (4, 3, 2)
    top = auth.by_source[0]
    assert (top.ip, top.failures, top.users, top.services) == ("203.0.113.9", 3, 3, ["auth.sshd", "postfix"])
    assert {u.user: (u.failures, u.sources) for u in auth.by_user} == {
        "root": (1, 1), "admin": (1, 1), "bob@example.com": (2, 2)}  # fmt: skip
    assert {s.service: (s.failures, s.successes) for s in auth.by_service} == {
        "auth.sshd": (2, 2), "postfix": (1, 0), "dovecot": (1, 1)}  # fmt: skip
    (guessed,) = auth.successes_after_failures  # once, though two logins followed
    assert (guessed.ip, guessed.user, guessed.service, guessed.failures_before) == (
        "203.0.113.9",
        "bob",
        "auth.sshd",
        3,
    )
    out = "\n".join(text.render(report_of(AUTH, date(2026, 11, 28))))
    assert "LOGINS THAT SUCCEEDED FROM AN ADDRESS THAT HAD FAILED BEFORE" in out
    assert "203.0.113.9  bob via auth.sshd, after 3 failure(s)" in out
    page = html.render(report_of(AUTH, date(2026, 11, 28)))
    assert "Failed logins by source address" in page and "203.0.113.9" in page


def _stuck_reference(stuck: list, top: int | None):
    """The stuck-mail section as it was computed from every stuck message held to the end."""
    from shipper.report import model as m
    from shipper.report.build import _stuck

    groups: dict = {}
    for tx in sorted(stuck, key=lambda t: t.start):
        item = _stuck(tx)
        groups.setdefault(item.category, []).append(item)
    out = []
    for category, items in sorted(groups.items(), key=lambda g: (-len(g[1]), g[0] or "~")):
        listed = items[:top]
        hint = next((i.hint for i in items if i.hint), None)
        out.append(m.StuckGroup(category=category, hint=hint, count=len(items), messages=listed,
                                more=len(items) - len(listed)))  # fmt: skip
    return m.StuckMail(total=len(stuck), shown=sum(len(g.messages) for g in out), groups=out)


@pytest.mark.parametrize("top", [1, 3, 20, None])
def test_the_stuck_table_keeps_only_what_it_shows_and_shows_what_holding_everything_did(top):
    """Stuck messages of a simulated log (deferred, held, several reasons), in a shuffled order and with
    shared start times: the section equals the one built from all of them, holding at most `top` a group."""
    import random

    from shipper.report.build import StuckTable
    from tests.mailsim import Simulation

    parser, correlator = Parser(), Correlator(load_packs())
    for line in Simulation(seed=11).run(3000).text().splitlines():
        correlator.feed(parser.parse_doc(line)[0])
    stuck = [tx for tx in correlator.finish() if tx.deferrals or tx.held]
    stuck += stuck[:25]  # the same start times again: ties keep their arrival order
    random.Random(5).shuffle(stuck)
    assert len({tx.diagnosis() for tx in stuck}) > 2
    table = StuckTable(top)
    for tx in stuck:
        table.add(tx)
    assert table.section() == _stuck_reference(stuck, top)
    if top is not None:
        assert all(len(kept) <= top for kept in table.oldest.values())
