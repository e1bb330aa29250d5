from __future__ import annotations

import pytest

from shipper.parse.parser import Parser


def test_unknown_program_keeps_text_and_is_tagged(parser):
    line = "Mar  3 10:00:00 mx1 opendkim[812]: 3C1A83E0B7: DKIM-Signature field added"
    parsed = parser.parse(line)
    assert parsed.rule is None
    assert parsed.dataset == "mail.other"
    assert parsed.fields["tags"] == ["unparsed"]
    assert parsed.fields["message"] == "3C1A83E0B7: DKIM-Signature field added"
    assert parsed.fields["event.original"] == line
    assert parsed.fields["process.name"] == "opendkim"


def test_postfix_line_without_rule_is_postfix_unparsed(parser):
    parsed = parser.parse("Mar  3 10:00:00 mx1 postfix/smtpd[1]: something new in Postfix 4.0")
    assert parsed.dataset == "mail.postfix"
    assert parsed.fields["tags"] == ["unparsed"]
    assert parsed.fields["mail.daemon"] == "smtpd"


def test_line_without_envelope(parser):
    parsed = parser.parse("just text")
    assert parsed.fields["tags"] == ["no_envelope", "unparsed"]
    assert "@timestamp" not in parsed.fields


def test_instances_and_services(parser):
    parsed = parser.parse("Mar  3 10:00:00 mx1 postfix-out/submission/smtpd[1]: connect from a[192.0.2.1]")
    assert parsed.rule == "smtpd-connect"
    assert parsed.fields["mail.instance"] == "postfix-out"
    assert parsed.fields["mail.service"] == "submission"
    assert parsed.fields["mail.daemon"] == "smtpd"


def test_rules_dispatch_by_daemon(parser):
    # `removed` is a qmgr rule and a postsuper rule; each daemon gets its own.
    assert parser.parse("Mar  3 10:00:00 mx1 postfix/qmgr[1]: 0A1B23E0E1: removed").rule == "qmgr-removed"
    assert parser.parse("Mar  3 10:00:00 mx1 postfix/postsuper[1]: 0A1B23E0E1: removed").rule == "postsuper-delete"
    # smtpd rules are not tried for a cleanup line
    assert parser.parse("Mar  3 10:00:00 mx1 postfix/cleanup[1]: connect from a[192.0.2.1]").rule is None


def test_bad_value_is_dropped_and_tagged(parser):
    parsed = parser.parse("Mar  3 10:00:00 mx1 postfix/smtpd[1]: connect from a[999.1.1.1]")
    assert parsed.rule == "smtpd-connect"
    assert "source.ip" not in parsed.fields
    assert parsed.fields["tags"] == ["type_error"]
    assert "source.ip: not an IP address: '999.1.1.1'" in parsed.fields["error.message"]


def test_outcomes(parser):
    def outcome(text):
        return parser.parse(f"Mar  3 10:00:00 mx1 {text}").fields.get("event.outcome")

    delivery = (
        "postfix/smtp[1]: 0A1B23E0E1: to=<a@b.example>, relay=none, delay=1, delays=1/0/0/0, dsn={}, status={} (x)"
    )
    assert outcome(delivery.format("2.0.0", "sent")) == "success"
    assert outcome(delivery.format("4.4.1", "deferred")) == "failure"
    assert outcome(delivery.format("5.1.1", "bounced")) == "failure"
    assert outcome("postfix/qmgr[1]: 0A1B23E0E1: from=<a@b.example>, status=expired, returned to sender") == "failure"
    assert outcome("postfix/smtpd[1]: warning: unknown[192.0.2.1]: SASL LOGIN authentication failed: x") == "failure"
    assert outcome("postfix/smtpd[1]: 0A1B23E0E1: client=a[192.0.2.1], sasl_method=PLAIN, sasl_username=u") == "success"
    assert (
        outcome("postfix/smtpd[1]: NOQUEUE: reject: RCPT from a[192.0.2.1]: 550 5.1.1 x; from=<a> to=<b> proto=SMTP")
        == "failure"
    )


def test_source_forces_a_pack(parser):
    forced = Parser(timezone="UTC", source="postfix")
    parsed = forced.parse("Mar  3 10:00:00 mx1 smtpd[1]: connect from a[192.0.2.1]")
    assert parsed.dataset == "mail.postfix"
    with pytest.raises(ValueError, match="unknown source 'nope'"):
        Parser(source="nope")


def test_severity_prefix_and_default_level(parser):
    assert parser.parse("Mar  3 10:00:00 mx1 postfix/qmgr[1]: 0A1B23E0E1: removed").fields["log.level"] == "info"
    warn = parser.parse("Mar  3 10:00:00 mx1 postfix/qmgr[1]: warning: mail for [127.0.0.1]:10024 is using up 100")
    assert warn.fields["log.level"] == "warning"
    assert warn.rule == "diagnostic-warning"
    panic = parser.parse("Mar  3 10:00:00 mx1 postfix/master[1]: panic: myfree: corrupt or unallocated memory")
    assert (panic.fields["log.level"], panic.rule) == ("panic", "diagnostic-error")


def test_oversized_message_is_kept_but_not_matched(parser):
    line = "Mar  3 10:00:00 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from a[192.0.2.1]: " + "; from=<" * 3000
    parsed = parser.parse(line)
    assert parsed.rule is None
    assert parsed.fields["tags"] == ["oversized", "unparsed"]
    assert parsed.fields["event.original"] == line
    assert parser.parse_doc(line)[1] == ("mail.postfix", None)
