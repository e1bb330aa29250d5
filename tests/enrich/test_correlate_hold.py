"""A message on hold (Postfix) or frozen (Exim) is not deferred mail: it waits for an admin, not a retry."""

from __future__ import annotations

from datetime import date

from shipper.enrich.correlate import Correlator
from shipper.parse.packs import load_packs
from shipper.parse.parser import Parser
from tests.enrich.test_correlate import correlated

DEFERRED_THEN_HELD = """\
Nov 28 10:00:00 mx postfix/qmgr[12]: 3C4D5E6F70: from=<app@example.com>, size=900, nrcpt=1 (queue active)
Nov 28 10:00:01 mx postfix/smtp[13]: 3C4D5E6F70: to=<x@remote.test>, relay=none, delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to mx.remote.test[203.0.113.5]:25: Connection refused)
Nov 28 10:30:00 mx postfix/postsuper[40]: 3C4D5E6F70: placed on hold
"""


def test_a_message_placed_on_hold_after_deferrals_reads_as_held_with_the_release_command():
    (tx,) = correlated(DEFERRED_THEN_HELD)
    doc = tx.doc()
    assert doc["mail"]["status"] == "held"
    assert doc["mail"]["hold"] == {"since": "2026-11-28T10:30:00Z", "by": "postfix/postsuper"}
    assert doc["mail"]["reason"]["category"] == "on hold"
    hint = doc["mail"]["reason"]["hint"]
    assert "postsuper -H 3C4D5E6F70" in hint and "until it is released" in hint
    assert "relayhost" not in hint  # not the connection-refused hint of its last deferral
    assert doc["mail"]["recipients"][0]["status"] == "deferred"  # the recipient's last attempt is kept


def test_released_from_hold_it_is_deferred_again():
    log = DEFERRED_THEN_HELD + "Nov 28 11:00:00 mx postfix/postsuper[41]: 3C4D5E6F70: released from hold\n"
    (tx,) = correlated(log)
    doc = tx.doc()
    assert doc["mail"]["status"] == "deferred"
    assert "hold" not in doc["mail"]
    assert doc["mail"]["reason"]["category"] == "connection refused"


def test_a_header_check_hold_names_the_check_and_its_reason():
    log = """\
Nov 28 10:00:00 mx postfix/smtpd[10]: 4D5E6F7081: client=mail.example.org[192.0.2.10]
Nov 28 10:00:00 mx postfix/cleanup[11]: 4D5E6F7081: hold: header Subject: invoice overdue from mail.example.org[192.0.2.10]; from=<a@example.org> to=<bob@example.com> proto=ESMTP helo=<mail.example.org>: Held for review
Nov 28 10:00:01 mx postfix/qmgr[12]: 4D5E6F7081: from=<a@example.org>, size=1200, nrcpt=1 (queue active)
"""
    (tx,) = correlated(log)
    doc = tx.doc()
    assert doc["mail"]["status"] == "held"
    assert doc["mail"]["hold"]["by"] == "header check: Held for review"
    assert doc["email"]["from"]["address"] == ["a@example.org"]


def test_a_milter_hold_and_an_smtpd_access_hold_hold_the_message():
    log = """\
Nov 28 10:00:00 mx postfix/cleanup[11]: 5E6F708192: milter-hold: END-OF-MESSAGE from mail.example.org[192.0.2.44]: milter triggers HOLD action; from=<a@example.org> to=<bob@example.com> proto=ESMTP helo=<mail.example.org>
Nov 28 10:00:01 mx postfix/smtpd[10]: 6F708192A3: hold: RCPT from mail.example.org[192.0.2.44]: <a@example.org>: Sender address triggers HOLD action; from=<a@example.org> to=<bob@example.com> proto=ESMTP helo=<mail.example.org>
"""
    by = {tx.ids[0]: tx.doc()["mail"] for tx in correlated(log)}
    assert by["5E6F708192"]["status"] == by["6F708192A3"]["status"] == "held"
    assert by["5E6F708192"]["hold"]["by"] == "milter: milter triggers HOLD action"
    assert by["6F708192A3"]["hold"]["by"] == "access check: <a@example.org>: Sender address triggers HOLD action"


def test_a_message_deleted_by_postsuper_is_complete_and_deleted_not_stuck():
    log = DEFERRED_THEN_HELD + "Nov 28 11:00:00 mx postfix/postsuper[42]: 3C4D5E6F70: removed\n"
    (tx,) = correlated(log)
    assert tx.complete
    assert tx.doc()["mail"]["status"] == "deleted"
    assert "hold" not in tx.doc()["mail"]


def exim_correlated(log: str) -> list:
    """Lines of Exim's own mainlog (no syslog header: the source is named, as its file would name it)."""
    parser = Parser(timezone="UTC", source="exim")
    correlator = Correlator(load_packs())
    done = []
    for line in log.splitlines():
        done += correlator.feed(parser.parse_doc(line)[0])
    return done + list(correlator.finish())


def test_an_exim_frozen_message_is_frozen_with_the_thaw_command_not_expired():
    log = """\
2026-11-28 10:00:00 1tQ4Sc-0000Bc-Aa <= <> R=1tQ4Sb-0000Bb-Zz U=Debian-exim P=local S=1800
2026-11-28 10:00:01 1tQ4Sc-0000Bc-Aa ** nobody@remote.test R=dnslookup T=remote_smtp: Unrouteable address
2026-11-28 10:00:01 1tQ4Sc-0000Bc-Aa Frozen (delivery error message)
2026-11-28 10:30:00 1tQ4Sc-0000Bc-Aa Message is frozen
"""
    (tx,) = exim_correlated(log)
    doc = tx.doc()
    assert doc["mail"]["status"] == "frozen"
    assert doc["mail"]["hold"] == {"since": "2026-11-28T10:00:01Z", "by": "Frozen (delivery error message)"}
    assert "exim -Mt 1tQ4Sc-0000Bc-Aa" in doc["mail"]["reason"]["hint"]
    thawed = exim_correlated(log + "2026-11-28 11:00:00 1tQ4Sc-0000Bc-Aa Unfrozen by forced delivery\n")
    assert thawed[0].doc()["mail"]["status"] != "frozen"


def test_a_held_transaction_survives_snapshot_and_restore():
    parser = Parser(timezone="UTC", reference=date(2026, 11, 28))
    first = Correlator(load_packs())
    for line in DEFERRED_THEN_HELD.splitlines():
        first.feed(parser.parse_doc(line)[0])
    second = Correlator(load_packs())
    second.restore(first.snapshot())
    (tx,) = list(second.finish())
    assert tx.doc()["mail"]["status"] == "held"
    assert tx.held_since == "2026-11-28T10:30:00Z"
