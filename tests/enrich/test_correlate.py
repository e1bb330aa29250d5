"""Queue-ID correlation on hand-written Postfix logs whose truth is known line by line."""

from __future__ import annotations

from datetime import date

import pytest

from shipper.enrich.correlate import Correlator
from shipper.parse.packs import load_packs
from shipper.parse.parser import Parser

LOG = """\
Nov 28 10:00:00 mx postfix/smtpd[10]: 1A2B3C4D01: client=mail.example.org[192.0.2.10]
Nov 28 10:00:00 mx postfix/cleanup[11]: 1A2B3C4D01: message-id=<a1@example.org>
Nov 28 10:00:01 mx postfix/qmgr[12]: 1A2B3C4D01: from=<alice@example.org>, size=1200, nrcpt=2 (queue active)
Nov 28 10:00:02 mx postfix/smtp[13]: 1A2B3C4D01: to=<bob@remote.test>, relay=mx.remote.test[203.0.113.5]:25, delay=1.2, delays=0.1/0/1/0.1, dsn=4.4.1, status=deferred (connect to mx.remote.test[203.0.113.5]:25: Connection timed out)
Nov 28 10:00:02 mx postfix/smtp[13]: 1A2B3C4D01: to=<carol@other.test>, relay=mx.other.test[198.51.100.7]:25, delay=1.3, delays=0.1/0/0.2/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 77XYZ)
Nov 28 10:00:03 mx postfix/smtpd[20]: 1A2B3C4D02: client=mail-wr1-f54.google.com[209.85.221.54]
Nov 28 10:00:03 mx postfix/cleanup[11]: 1A2B3C4D02: message-id=<b2@gmail.com>
Nov 28 10:00:03 mx postfix/qmgr[12]: 1A2B3C4D02: from=<noreply@gmail.com>, size=5000, nrcpt=1 (queue active)
Nov 28 10:00:04 mx postfix/amavis/smtpd[21]: 1A2B3C4D03: client=localhost[127.0.0.1], orig_queue_id=1A2B3C4D02, orig_client=mail-wr1-f54.google.com[209.85.221.54]
Nov 28 10:00:04 mx postfix/smtp[22]: 1A2B3C4D02: to=<grace@example.com>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0.1/0/0.01/0.9, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 1A2B3C4D03)
Nov 28 10:00:04 mx postfix/qmgr[12]: 1A2B3C4D02: removed
Nov 28 10:00:05 mx postfix/lmtp[23]: 1A2B3C4D03: to=<grace@example.com>, relay=mail.example.com[private/dovecot-lmtp], delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 <grace@example.com> Saved)
Nov 28 10:00:04 mx postfix/qmgr[12]: 1A2B3C4D03: from=<noreply@gmail.com>, size=5400, nrcpt=1 (queue active)
Nov 28 10:00:05 mx postfix/qmgr[12]: 1A2B3C4D03: removed
Nov 28 10:10:00 mx postfix/smtp[13]: 1A2B3C4D01: to=<bob@remote.test>, relay=mx.remote.test[203.0.113.5]:25, delay=600, delays=599/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)
Nov 28 10:10:00 mx postfix/qmgr[12]: 1A2B3C4D01: removed
Nov 28 10:20:00 mx postfix/qmgr[12]: 1A2B3C4D04: from=<dave@example.com>, size=900, nrcpt=1 (queue active)
Nov 28 10:20:01 mx postfix/smtp[13]: 1A2B3C4D04: to=<gone@nowhere.test>, relay=none, delay=1, delays=0/0/1/0, dsn=4.4.3, status=deferred (Host or domain name not found. Name service error for name=nowhere.test type=MX: Host not found, try again)
Nov 28 11:20:00 mx postfix/qmgr[12]: 1A2B3C4D04: from=<dave@example.com>, status=expired, returned to sender
Nov 28 11:20:00 mx postfix/cleanup[11]: 1A2B3C4D05: message-id=<20261128112000.1A2B3C4D05@mx.example.com>
Nov 28 11:20:00 mx postfix/bounce[30]: 1A2B3C4D04: sender non-delivery notification: 1A2B3C4D05
Nov 28 11:20:00 mx postfix/qmgr[12]: 1A2B3C4D04: removed
Nov 28 11:20:00 mx postfix/qmgr[12]: 1A2B3C4D05: from=<>, size=2500, nrcpt=1 (queue active)
Nov 28 11:20:01 mx postfix/local[31]: 1A2B3C4D05: to=<dave@example.com>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)
Nov 28 11:20:01 mx postfix/qmgr[12]: 1A2B3C4D05: removed
Nov 28 12:00:00 mx postfix/qmgr[12]: 1A2B3C4D01: from=<reuse@example.org>, size=10, nrcpt=1 (queue active)
Nov 28 12:00:01 mx postfix/smtp[13]: 1A2B3C4D01: to=<x@remote.test>, relay=mx.remote.test[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=5.1.1, status=bounced (host mx.remote.test[203.0.113.5] said: 550 5.1.1 unknown user (in reply to RCPT TO command))
Nov 28 12:00:01 mx postfix/qmgr[12]: 1A2B3C4D01: removed
Nov 28 12:30:00 mx postfix/qmgr[12]: 1A2B3C4D06: from=<stuck@example.org>, size=10, nrcpt=1 (queue active)
Nov 28 12:30:01 mx postfix/smtp[13]: 1A2B3C4D06: to=<y@remote.test>, relay=none, delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to mx.remote.test[203.0.113.5]:25: Connection refused)
"""


def correlated(log: str) -> list:
    """Every transaction of a log, those still open at its end included (incomplete)."""
    parser = Parser(timezone="UTC", reference=date(2026, 11, 28))
    correlator = Correlator(load_packs())
    done = []
    for line in log.splitlines():
        done += correlator.feed(parser.parse_doc(line)[0])
    return done + list(correlator.finish())


@pytest.fixture(scope="module")
def transactions():
    done = correlated(LOG)
    return {tuple(t.ids): t for t in done}, done


def test_every_message_is_one_transaction(transactions):
    by_ids, done = transactions
    assert sorted(by_ids) == [("1A2B3C4D01",), ("1A2B3C4D02", "1A2B3C4D03"), ("1A2B3C4D04",), ("1A2B3C4D05",),
                              ("1A2B3C4D06",)]  # fmt: skip
    assert len(done) == 6  # 1A2B3C4D01 twice: the queue ID was reused after `removed`


def test_a_deferral_then_delivery_and_a_second_recipient(transactions):
    _, done = transactions
    first = done[[t.ids for t in done].index(["1A2B3C4D01"])]
    doc = first.doc()
    assert doc["email"]["from"]["address"] == ["alice@example.org"]
    assert doc["email"]["message_id"] == "a1@example.org"
    assert doc["source"] == {"ip": "192.0.2.10", "domain": "mail.example.org"}
    assert {r["address"]: r["status"] for r in doc["mail"]["recipients"]} == {
        "bob@remote.test": "sent", "carol@other.test": "sent"}  # fmt: skip
    assert doc["mail"]["deferrals"] == 1 and doc["mail"]["status"] == "sent" and doc["mail"]["complete"]
    assert doc["mail"]["deferral_reasons"] == ["connect to mx.remote.test[203.0.113.5]:25: Connection timed out"]
    assert doc["event"]["duration"] == 600 * 10**9


def test_a_content_filter_hop_is_one_transaction_with_both_queue_ids(transactions):
    by_ids, _ = transactions
    doc = by_ids[("1A2B3C4D02", "1A2B3C4D03")].doc()
    assert doc["email"]["local_id"] == ["1A2B3C4D02", "1A2B3C4D03"]  # original first
    assert doc["source"]["ip"] == "209.85.221.54"  # the original client, not the filter's localhost
    assert doc["mail"]["recipients"] == [{"address": "grace@example.com", "status": "sent", "dsn": "2.0.0",
        "relay": "mail.example.com[private/dovecot-lmtp]", "delay": 0.1,
        "response": "250 2.0.0 <grace@example.com> Saved"}]  # fmt: skip
    assert doc["mail"]["size"] == 5000 and doc["mail"]["complete"]


def test_expiry_and_its_bounce_notification_are_linked(transactions):
    by_ids, _ = transactions
    expired = by_ids[("1A2B3C4D04",)].doc()
    assert expired["mail"]["status"] == "expired"
    assert expired["mail"]["recipients"][0]["status"] == "expired"
    notification = by_ids[("1A2B3C4D05",)].doc()
    assert notification["mail"]["parent_local_id"] == "1A2B3C4D04"
    assert notification["email"]["from"]["address"] == [""]
    assert notification["mail"]["status"] == "sent"


def test_a_reused_queue_id_starts_a_new_transaction_with_its_own_id(transactions):
    _, done = transactions
    reused = [t for t in done if t.ids == ["1A2B3C4D01"]]
    assert [t.doc()["email"]["from"]["address"] for t in reused] == [["alice@example.org"], ["reuse@example.org"]]
    assert reused[1].doc()["mail"]["status"] == "bounced"
    assert reused[0].doc_id() != reused[1].doc_id()


def test_a_message_still_queued_at_the_end_is_incomplete(transactions):
    by_ids, _ = transactions
    doc = by_ids[("1A2B3C4D06",)].doc()
    assert doc["mail"]["complete"] is False and doc["tags"] == ["incomplete"]
    assert doc["mail"]["status"] == "deferred"
    assert doc["mail"]["reason"]["category"] == "connection refused"


def test_out_of_order_lines_still_fill_the_transaction(transactions):
    by_ids, _ = transactions
    # 1A2B3C4D03's delivery was logged before its qmgr from= line
    assert by_ids[("1A2B3C4D02", "1A2B3C4D03")].doc()["email"]["from"]["address"] == ["noreply@gmail.com"]


def _qmgr(second: int, qid: str) -> dict:
    stamp = f"Nov 28 {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
    line = f"{stamp} mx postfix/qmgr[1]: {qid}: from=<a@b>, size=1, nrcpt=1 (queue active)"
    return Parser(timezone="UTC", reference=date(2026, 11, 28)).parse_doc(line)[0]


def test_ttl_evicts_what_was_never_closed():
    correlator = Correlator(load_packs(), ttl=3600)
    assert correlator.feed(_qmgr(3600, "1A2B3C4D09")) == []
    evicted = correlator.feed(_qmgr(5 * 3600, "1A2B3C4D08"))
    assert [t.ids for t in evicted] == [["1A2B3C4D09"]] and not evicted[0].complete
    assert correlator.evicted == 1 and [t.ids for t in correlator.live.values()] == [["1A2B3C4D08"]]


def _probe(parser: Parser, n: int) -> dict:
    """An SMTP session that gave MAIL FROM and RCPT TO, then QUIT: a queue ID with a client and nothing after."""
    line = f"Nov 28 10:{n // 60 % 60:02d}:{n % 60:02d} mx postfix/smtpd[7]: {n:010X}: client=probe.example[192.0.2.1]"
    return parser.parse_doc(line)[0]


def test_past_the_cap_the_least_recently_active_goes_first():
    parser = Parser(timezone="UTC", reference=date(2026, 11, 28))
    correlator = Correlator(load_packs(), max_open=3)
    for n in range(1, 4):
        assert correlator.feed(_probe(parser, n)) == []
    assert correlator.feed(_qmgr(10 * 3600 + 10, f"{1:010X}")) == []  # the first is active again
    evicted = correlator.feed(_probe(parser, 20))
    assert [t.ids for t in evicted] == [[f"{2:010X}"]] and correlator.evicted == 1
    assert sorted(t.ids[0] for t in correlator.live.values()) == [f"{n:010X}" for n in (1, 3, 20)]


def test_a_flood_of_unfinished_sessions_costs_the_same_per_line(monkeypatch):
    """The attack: sessions that never finish a message fill the correlator to its cap; from then on each new
    line evicts one. Eviction once read every open transaction's time and sorted them all (1,000,000 of
    them: about a second a line); the work per line must not grow with what is open."""
    import shipper.enrich.correlate as correlate

    parser = Parser(timezone="UTC", reference=date(2026, 11, 28))
    events = [_probe(parser, n) for n in range(1, 6001)]
    correlator = Correlator(load_packs(), max_open=2000)
    for event in events[:2000]:
        correlator.feed(event)
    reads = 0
    real = correlate._epoch

    def counting(stamp: str) -> float:
        nonlocal reads
        reads += 1
        return real(stamp)

    monkeypatch.setattr(correlate, "_epoch", counting)
    evicted = sum(len(correlator.feed(event)) for event in events[2000:])
    assert evicted == 4000 and correlator.evicted == 4000 and len(correlator.live) == 2000
    assert reads / 4000 < 8  # a handful of heap operations per line, whatever the cap
    assert len(correlator.by_activity) <= 2 * len(correlator.live) + 1024


def test_documents_fit_the_transaction_mappings(transactions):
    from shipper.core.event import flatten
    from shipper.schema.mappings import transaction_fields

    fields = transaction_fields()
    _, done = transactions
    for tx in done:
        flat = flatten(tx.doc())
        unknown = [name for name in flat if name not in fields and not name.startswith("mail.recipients")]
        assert unknown == []
        for recipient in tx.doc()["mail"]["recipients"]:
            assert {f"mail.recipients.{k}" for k in recipient} <= set(fields)


def test_a_smarthost_demanding_sasl_gets_its_diagnosis():
    parser = Parser(timezone="UTC", reference=date(2026, 11, 28))
    correlator = Correlator(load_packs())
    for line in [
        "Nov 28 09:00:00 mx postfix/qmgr[1]: 5E6F7A8B90: from=<app@example.com>, size=300, nrcpt=1 (queue active)",
        "Nov 28 09:00:01 mx postfix/smtp[2]: 5E6F7A8B90: to=<client@example.net>, relay=smtp.sendgrid.net[167.89.115.79]:587, delay=1.1, delays=0.01/0/0.9/0.2, dsn=5.7.0, status=deferred (host smtp.sendgrid.net[167.89.115.79] said: 530 5.7.0 Authentication Required (in reply to MAIL FROM command))",
    ]:
        correlator.feed(parser.parse_doc(line)[0])
    (tx,) = list(correlator.finish())
    doc = tx.doc()
    assert doc["mail"]["status"] == "deferred" and doc["mail"]["reason"]["category"] == "relay authentication"
    assert "smtp_sasl_password_maps" in doc["mail"]["reason"]["hint"]


AMAVIS = """\
Nov 28 10:05:01 mx1 postfix/smtpd[4101]: 4A1B2C3D4E: client=mail-wr1-f54.google.com[209.85.221.54]
Nov 28 10:05:01 mx1 postfix/qmgr[1200]: 4A1B2C3D4E: from=<j.smith@gmail.com>, size=18211, nrcpt=1 (queue active)
Nov 28 10:05:02 mx1 postfix/smtpd[4105]: 5B2C3D4E5F: client=localhost[127.0.0.1]
Nov 28 10:05:02 mx1 postfix/cleanup[4102]: 5B2C3D4E5F: message-id=<CAHx1q2w3e4r@mail.gmail.com>
Nov 28 10:05:02 mx1 postfix/qmgr[1200]: 5B2C3D4E5F: from=<j.smith@gmail.com>, size=19033, nrcpt=1 (queue active)
Nov 28 10:05:02 mx1 amavis[2201]: (02201-01) Passed CLEAN {RelayedInbound}, [209.85.221.54]:44312 <j.smith@gmail.com> -> <alice@example.com>, Queue-ID: 4A1B2C3D4E, Message-ID: <CAHx1q2w3e4r@mail.gmail.com>, mail_id: Qw3Er4Ty5Ui6, Hits: -1.9, size: 18211, queued_as: 5B2C3D4E5F, 842 ms
Nov 28 10:05:02 mx1 postfix/qmgr[1200]: 4A1B2C3D4E: removed
Nov 28 10:05:02 mx1 postfix/lmtp[4106]: 5B2C3D4E5F: to=<alice@example.com>, relay=mail.example.com[private/dovecot-lmtp], delay=0.11, delays=0.03/0.01/0.02/0.05, dsn=2.0.0, status=sent (250 2.0.0 <alice@example.com> 8AbC Saved)
Nov 28 10:05:02 mx1 postfix/qmgr[1200]: 5B2C3D4E5F: removed
Nov 28 10:12:40 mx1 postfix/smtpd[4110]: 7D2E43E0C1: client=unknown[203.0.113.77]
Nov 28 10:12:40 mx1 postfix/qmgr[1200]: 7D2E43E0C1: from=<billing@fake-invoices.example>, size=48211, nrcpt=1 (queue active)
Nov 28 10:12:40 mx1 postfix/smtp[4103]: 7D2E43E0C1: to=<alice@example.com>, relay=127.0.0.1[127.0.0.1]:10024, delay=0.52, delays=0.1/0/0.01/0.41, dsn=2.7.0, status=sent (250 2.7.0 Ok, discarded, id=02210-07 - banned: multipart/mixed | application/x-msdownload,.exe,.exe-ms,invoice.exe)
Nov 28 10:12:40 mx1 postfix/qmgr[1200]: 7D2E43E0C1: removed
"""


def run_log(log: str) -> list:
    parser = Parser(timezone="UTC", reference=date(2026, 11, 28))
    correlator = Correlator(load_packs())
    done = []
    for line in log.splitlines():
        done += correlator.feed(parser.parse_doc(line)[0])
    return done + list(correlator.finish())


def test_amavis_queued_as_joins_a_reinjected_message_already_open_under_its_own_queue_id():
    """No XFORWARD orig_queue_id, no Postfix relay reply: Amavis' own line is the only link."""
    hop, discarded = run_log(AMAVIS)
    assert hop.ids == ["4A1B2C3D4E", "5B2C3D4E5F"] and hop.complete
    doc = hop.doc()
    assert doc["mail"]["status"] == "sent" and doc["source"]["ip"] == "209.85.221.54"
    assert doc["email"]["message_id"] == "CAHx1q2w3e4r@mail.gmail.com" and doc["mail"]["size"] == 18211
    assert discarded.ids == ["7D2E43E0C1"] and discarded.complete
    assert discarded.doc()["mail"]["status"] == "discarded"  # the filter's `Ok, discarded` is no delivery


def test_a_quoted_local_part_with_angle_brackets_keeps_the_message_whole():
    """`"x>y"@evil.example` is a legal sender; once it left qmgr's and pickup's lines unparsed, so the
    message lost its sender and hid from trace and the top-sender tables."""
    parser = Parser(timezone="UTC", reference=date(2026, 11, 28))
    lines = [
        'Nov 28 10:00:00 mx postfix/pickup[1]: 4F9D2E3A1B: uid=33 from=<"x>y"@evil.example>',
        "Nov 28 10:00:00 mx postfix/cleanup[2]: 4F9D2E3A1B: message-id=<a1@evil.example>",
        'Nov 28 10:00:00 mx postfix/qmgr[3]: 4F9D2E3A1B: from=<"x>y"@evil.example>, size=412, nrcpt=1 (queue active)',
        'Nov 28 10:00:01 mx postfix/smtp[4]: 4F9D2E3A1B: to=<"a b"@example.org>, relay=mx.example.org[192.0.2.7]:25,'
        " delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)",
        "Nov 28 10:00:01 mx postfix/qmgr[3]: 4F9D2E3A1B: removed",
    ]
    correlator = Correlator(load_packs())
    done = []
    for line in lines:
        doc = parser.parse_doc(line)[0]
        assert "unparsed" not in doc.get("tags", []), line
        done += correlator.feed(doc)
    (tx,) = done
    assert tx.sender == '"x>y"@evil.example' and list(tx.recipients) == ['"a b"@example.org']
    assert tx.status() == "sent" and tx.complete


def test_an_older_file_read_after_a_newer_one_keeps_its_messages_whole():
    """`ingest samples/` reads files of other dates in any order: a message of last year read after this
    year's lines is judged by its own time, not given up at its first line for being older than the ttl."""
    parser = Parser(timezone="UTC", reference=date(2026, 11, 28))
    newer = "Nov 28 10:00:00 mx postfix/qmgr[3]: 5A5A5A5A5A: from=<n@example.org>, size=1, nrcpt=1 (queue active)"
    older = [
        "Mar  3 10:00:00 mx postfix/qmgr[3]: 4F9D2E3A1B: from=<a@example.org>, size=412, nrcpt=1 (queue active)",
        "Mar  3 10:00:01 mx postfix/smtp[4]: 4F9D2E3A1B: to=<b@example.org>, relay=mx.example.org[192.0.2.7]:25,"
        " delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)",
        "Mar  3 10:00:01 mx postfix/qmgr[3]: 4F9D2E3A1B: removed",
    ]
    correlator = Correlator(load_packs(), ttl=3600)
    done = correlator.feed(parser.parse_doc(newer)[0])
    for line in older:
        done += correlator.feed(parser.parse_doc(line)[0])
    (tx,) = done
    assert tx.complete and tx.sender == "a@example.org" and tx.status() == "sent" and correlator.evicted == 0


PARTIAL = """\
Nov 28 13:00:00 mx postfix/smtpd[40]: 5A5B5C5D01: client=mail.example.org[192.0.2.10]
Nov 28 13:00:00 mx postfix/smtpd[40]: 5A5B5C5D01: reject: RCPT from mail.example.org[192.0.2.10]: 550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in local recipient table; from=<alice@example.org> to=<nobody@example.com> proto=ESMTP helo=<mail.example.org>
Nov 28 13:00:01 mx postfix/cleanup[41]: 5A5B5C5D01: message-id=<p1@example.org>
Nov 28 13:00:01 mx postfix/qmgr[42]: 5A5B5C5D01: from=<alice@example.org>, size=1200, nrcpt=1 (queue active)
Nov 28 13:00:02 mx postfix/local[43]: 5A5B5C5D01: to=<bob@example.com>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)
Nov 28 13:00:02 mx postfix/qmgr[42]: 5A5B5C5D01: removed
Nov 28 13:05:00 mx postfix/smtpd[40]: 5A5B5C5D02: client=mail.example.org[192.0.2.10]
Nov 28 13:05:01 mx postfix/smtpd[40]: 5A5B5C5D02: reject: END-OF-MESSAGE from mail.example.org[192.0.2.10]: 552 5.3.4 Message size exceeds fixed limit; from=<big@example.org> to=<bob@example.com> proto=ESMTP helo=<mail.example.org>
"""


def test_a_recipient_refused_under_a_queue_id_is_part_of_the_message_and_makes_it_partial():
    by_id = {t.ids[0]: t for t in correlated(PARTIAL)}
    partial = by_id["5A5B5C5D01"].doc()
    assert partial["mail"]["status"] == "partial"
    fates = {r["address"]: r["status"] for r in partial["mail"]["recipients"]}
    assert fates == {"bob@example.com": "sent", "nobody@example.com": "rejected"}
    refused = by_id["5A5B5C5D02"]
    assert refused.complete and refused.doc()["mail"]["status"] == "rejected"


FORWARDED = """\
Nov 28 14:00:00 mx postfix/qmgr[42]: 6A6B6C6D01: from=<alice@example.org>, size=1200, nrcpt=1 (queue active)
Nov 28 14:00:01 mx postfix/local[50]: 6A6B6C6D01: to=<alias@example.com>, relay=local, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (forwarded as 6A6B6C6D02)
Nov 28 14:00:01 mx postfix/qmgr[42]: 6A6B6C6D01: removed
Nov 28 14:00:01 mx postfix/qmgr[42]: 6A6B6C6D02: from=<alice@example.org>, size=1400, nrcpt=1 (queue active)
Nov 28 14:00:02 mx postfix/smtp[51]: 6A6B6C6D02: to=<someone@elsewhere.test>, orig_to=<alias@example.com>, relay=mx.elsewhere.test[203.0.113.9]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)
Nov 28 14:00:02 mx postfix/qmgr[42]: 6A6B6C6D02: removed
"""


def test_a_forwarded_copy_is_linked_to_the_message_it_came_from():
    by_id = {t.ids[0]: t for t in correlated(FORWARDED)}
    original, copy = by_id["6A6B6C6D01"], by_id["6A6B6C6D02"]
    assert {r.address: r.status for r in original.recipients.values()} == {"alias@example.com": "forwarded"}
    assert original.status() == "forwarded" and copy.parent == "6A6B6C6D01" and copy.status() == "sent"


NOT_A_FILTER = """\
Nov 28 15:00:00 mx postfix/qmgr[42]: 7A7B7C7D01: from=<alice@example.org>, size=1200, nrcpt=1 (queue active)
Nov 28 15:00:01 mx postfix/smtp[51]: 7A7B7C7D01: to=<bob@upstream.test>, relay=127.0.0.10[127.0.0.10]:2525, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4F001A1B2C3)
Nov 28 15:00:01 mx postfix/qmgr[42]: 7A7B7C7D01: removed
Nov 28 15:00:02 mx postfix/qmgr[42]: 7A7B7C7D02: from=<carol@example.org>, size=1200, nrcpt=1 (queue active)
Nov 28 15:00:03 mx postfix/smtp[51]: 7A7B7C7D02: to=<dan@upstream.test>, relay=localhost.upstream.test[192.0.2.44]:25, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4F001A1B2C3)
Nov 28 15:00:03 mx postfix/qmgr[42]: 7A7B7C7D02: removed
"""


def test_only_a_local_relay_by_exact_name_or_address_is_a_content_filter_hop():
    """127.0.0.10 and localhost.upstream.test are not 127.0.0.1 and localhost: a remote MX's `queued as` (the
    same ID from two of them, even) joins nothing."""
    done = correlated(NOT_A_FILTER)
    assert sorted(t.ids for t in done) == [["7A7B7C7D01"], ["7A7B7C7D02"]]
    assert all(t.complete and t.status() == "sent" for t in done)


PROBES = """\
Nov 28 16:00:00 mx postfix/qmgr[42]: 8A8B8C8D01: from=<double-bounce@example.test>, size=226, nrcpt=1 (queue active)
Nov 28 16:00:00 mx postfix/smtp[51]: 8A8B8C8D01: to=<friend@upstream.test>, relay=mx.upstream.test[192.0.2.5]:25, delay=0, delays=0/0/0/0, dsn=2.1.5, status=deliverable (250 2.1.5 OK)
Nov 28 16:00:00 mx postfix/qmgr[42]: 8A8B8C8D01: removed
Nov 28 16:00:01 mx postfix/qmgr[42]: 8A8B8C8D02: from=<double-bounce@example.test>, size=226, nrcpt=1 (queue active)
Nov 28 16:00:01 mx postfix/smtp[51]: 8A8B8C8D02: to=<nobody@upstream.test>, relay=mx.upstream.test[192.0.2.5]:25, delay=0, delays=0/0/0/0, dsn=5.1.1, status=undeliverable (host mx.upstream.test[192.0.2.5] said: 550 5.1.1 <nobody@upstream.test>: Recipient address rejected: User unknown (in reply to RCPT TO command))
Nov 28 16:00:01 mx postfix/qmgr[42]: 8A8B8C8D02: removed
"""


def test_an_address_verification_probe_is_neither_sent_nor_bounced():
    by_id = {t.ids[0]: t.doc() for t in correlated(PROBES)}
    good, bad = by_id["8A8B8C8D01"], by_id["8A8B8C8D02"]
    assert (good["mail"]["status"], good["event"]["outcome"]) == ("deliverable", "success")
    assert (bad["mail"]["status"], bad["event"]["outcome"]) == ("undeliverable", "failure")
    assert bad["mail"]["reason"]["category"] == "unknown user"
    assert good["mail"]["complete"] and bad["mail"]["complete"]


def test_joining_adds_only_the_joined_fields():
    """`shipper grep` skips the join for a query that reads none of JOINED_FIELDS: on every sample (and the
    simulated Postfix log with its content-filter hops and bounces) the join changes nothing else."""
    import copy
    from pathlib import Path

    from shipper.core.event import flatten
    from shipper.enrich.correlate import JOINED_FIELDS
    from tests.mailsim import Simulation

    root = Path(__file__).resolve().parents[2]
    parser = Parser(reference=date(2026, 3, 20))
    correlator = Correlator(load_packs())
    lines = [line for path in sorted((root / "samples").rglob("*.log"))
             for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]  # fmt: skip
    changed: set[str] = set()
    for line in [*lines, *Simulation().run(300).text().splitlines()]:
        event = parser.parse_doc(line)[0]
        before = flatten(copy.deepcopy(event))
        correlator.join(event)
        after = flatten(event)
        changed |= {name for name in after.keys() | before.keys() if after.get(name) != before.get(name)}
    assert changed, "the samples should exercise the join"
    assert changed <= JOINED_FIELDS, changed - JOINED_FIELDS
