"""Reason classification: the categories admins search for, from real reply texts."""

from __future__ import annotations

import pytest

from shipper.parse.reasons import classify


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("connect to mx.example.net[203.0.113.50]:25: Connection timed out", "connection timeout"),
        ("connect to mx.example.net[203.0.113.50]:25: Connection refused", "connection refused"),
        ("host smtp.sendgrid.net[167.89.115.79] said: 530 5.7.0 Authentication Required", "relay authentication"),
        ("SASL authentication failed; cannot authenticate to server smtp.sendgrid.net", "relay authentication"),
        ("connect to zimbra.example.com[127.0.0.1]:7025: Connection refused", "mailbox server down"),
        ("connect to 127.0.0.1[127.0.0.1]:10024: Connection refused", "content filter unavailable"),
        ("Host or domain name not found. Name service error for name=x.test type=MX", "dns failure"),
        ("Cannot start TLS: handshake failure", "tls failure"),
        ("450 4.2.0 <a@b>: Recipient address rejected: Greylisted, try later", "greylisting"),
        ("552 5.2.2 <a@b>: Mailbox full", "mailbox full"),
        ("550 5.1.1 <a@b>: Recipient address rejected: User unknown in virtual mailbox table", "unknown user"),
        ("554 5.7.1 <a@b>: Relay access denied", "relay access denied"),
        ("Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", "blocklisted"),
        ("552 5.3.4 Message size exceeds fixed limit", "message too large"),
        ("550 5.7.1 Message rejected as spam", "policy or spam reject"),
    ],
)
def test_categories(text, category):
    found = classify(text)
    assert found is not None and found[0] == category, text


def test_unknown_text_has_no_category():
    assert classify("something nobody has seen") is None


def test_hints_for_the_cases_admins_hit_most():
    assert "smtp_sasl_password_maps" in (classify("530 5.7.0 Authentication Required")[1] or "")
    assert "7025" in (classify("connect to z[127.0.0.1]:7025: Connection refused")[1] or "")
