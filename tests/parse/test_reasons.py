"""Reason classification: the categories admins search for, from real reply texts."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.parse.reasons import _first_rule, classify, first_rule_reference


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


# -- the fast path (RE2's multi-pattern set) gives the first matching rule exactly as trying them in turn --

WORDS = st.sampled_from([
    "Connection timed out", "connection REFUSED", "said: ", "550 5.1.1 ", "4.2.2", "5.7.1 Relaying", "spam",
    "lmtp", ":7025", "private/dovecot-lmtp", "127.0.0.1[127.0.0.1]:10024", "greylist", "try again later",
    "User unknown", "user doesn't exist", "user doesnt exist", "Quota exceeded", "TLS handshake", "type=MX",
    "blocked using zen.spamhaus.org", "Client host [192.0.2.1] blocked", "message file too big", "SPF",
    "Authentication Required", "Must issue a STARTTLS command first. AUTH", "amavis refused", "K", "\u017f", "é",
    "\u212a", "\n", "\x0b", " ", "<a@b>", "lost connection with mx while sending", "(", ")", "[", "]",
])  # fmt: skip


def _texts_of_samples() -> list[str]:
    from shipper.parse.parser import Parser

    parser, out = Parser(), []
    for path in sorted(Path(__file__).resolve().parents[2].joinpath("samples").rglob("*.log")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            fields = parser.parse(line).fields
            for name in ("mail.response", "mail.reject.reason", "mail.reason.text"):
                if isinstance(fields.get(name), str):
                    out.append(fields[name])
    return out


def test_fast_path_agrees_with_the_rules_in_turn_on_every_sample():
    texts = _texts_of_samples()
    assert len(texts) > 100
    fast = _first_rule()
    assert [fast(t) for t in texts] == [first_rule_reference(t) for t in texts]
    assert sum(first_rule_reference(t) is not None for t in texts) > 50  # the samples do exercise the rules


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.one_of(WORDS, st.text(max_size=8)), max_size=12).map("".join), st.booleans())
def test_fast_path_agrees_with_the_rules_in_turn_on_fuzzed_text(text, upper):
    text = text.upper() if upper else text
    assert _first_rule()(text) == first_rule_reference(text)


def test_the_fast_path_is_the_multi_pattern_set_where_re2_is_installed():
    pytest.importorskip("re2")
    assert _first_rule() is not first_rule_reference
