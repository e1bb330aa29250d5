"""KQL over events in memory, with Elasticsearch's meaning (the agreement on real data is
tests/integration/test_kql.py)."""

from __future__ import annotations

from shipper.kql.dsl import to_dsl
from shipper.kql.evaluate import compile_query, words
from shipper.kql.parser import parse
from shipper.kql.types import offline_types

EVENT = {
    "message": "NOQUEUE: reject: RCPT from unknown[45.95.147.236]: 554 5.7.1 Service unavailable; Client host "
               "[45.95.147.236] blocked using zen.spamhaus.org",
    "event": {"dataset": "mail.postfix", "category": ["email", "network"], "outcome": "failure"},
    "source": {"ip": "45.95.147.236"},
    "mail": {"reject": {"reason": "Service unavailable; Client host [45.95.147.236] blocked using zen.spamhaus.org"},
             "delay": 61.5, "dnsbl": {"domain": "zen.spamhaus.org"}},
    "email": {"to": {"address": ["info@example.com"]}},
    "@timestamp": "2026-11-28T10:00:00Z",
}  # fmt: skip


def hits(query: str) -> bool:
    return compile_query(parse(query), offline_types())(EVENT)


def test_keywords_match_exactly_text_by_words_ips_by_cidr():
    assert hits("event.outcome: failure") and not hits("event.outcome: fail")
    assert hits("event.category: network")  # an array matches when one value does
    assert hits("source.ip: 45.95.147.0/24") and not hits("source.ip: 10.0.0.0/8")
    assert hits("message: blocked") and hits("message: BLOCKED") and not hits("message: block")
    assert hits('message: "blocked using zen.spamhaus.org"') and not hits('message: "using blocked"')
    assert hits("mail.reject.reason.text: unavailable") and not hits("mail.reject.reason: unavailable")
    assert hits("mail.reject.reason: *spamhaus*") and not hits("mail.reject.reason: *SPAMHAUS*")


def test_ranges_exists_and_logic():
    assert hits("mail.delay >= 60") and not hits("mail.delay > 61.5")
    assert hits("@timestamp >= 2026-11-28 and @timestamp < 2026-11-29")
    assert hits("email.to.address: *") and not hits("user.name: *")
    assert hits("not user.name: root and (event.outcome: success or mail.dnsbl.domain: zen.spamhaus.org)")
    assert hits("zen.spamhaus.org") and not hits("spamhaus")  # the standard tokenizer keeps a host name whole


def test_words_follow_the_standard_tokenizer():
    assert words("blocked using zen.spamhaus.org; [45.95.147.236]:25") == (
        "blocked",
        "using",
        "zen.spamhaus.org",
        "45.95.147.236",
        "25",
    )
    assert words("a@b.example sasl_username=x") == ("a", "b.example", "sasl_username", "x")


def test_translation_is_kibanas():
    types = offline_types()
    assert to_dsl(parse("mail.status: (deferred or bounced)"), types) == {
        "bool": {
            "should": [{"match": {"mail.status": "deferred"}}, {"match": {"mail.status": "bounced"}}],
            "minimum_should_match": 1,
        }
    }
    assert to_dsl(parse('message: "a b"'), types) == {"match_phrase": {"message": "a b"}}
    assert to_dsl(parse("user.name: adm*"), types) == {"wildcard": {"user.name": {"value": "adm*"}}}
    assert to_dsl(parse("message: refus*"), types) == {"query_string": {"fields": ["message"], "query": "refus*"}}
    assert to_dsl(parse("email.to.address:*"), types) == {"exists": {"field": "email.to.address"}}
    assert to_dsl(parse("not a:b"), types) == {"bool": {"must_not": [{"match": {"a": "b"}}]}}


def test_the_lazy_view_reads_what_flatten_gives():
    """Flat.get walks the nested event; it must answer as the flattened event does, for every name of every
    sample event, for objects of more fields (not a name), for leaf objects and what lies below them."""
    import subprocess
    import sys

    import orjson

    from shipper.core.event import flatten
    from shipper.kql.evaluate import Flat

    out = subprocess.run([sys.executable, "-m", "shipper", "parse", "samples/", "--timezone", "UTC"],
                         capture_output=True, check=False).stdout  # fmt: skip
    events = [orjson.loads(line) for line in out.splitlines()]
    events.append(
        {"log": {"syslog": {"structured_data": {"a": {"b": "1"}}}}, "source": {"geo": {"location": {"lat": 1}}}}
    )
    assert len(events) > 1000
    names = {"mail", "source", "email.to", "nothing", "source.geo.location.lat", "log.syslog.structured_data.a"}
    for event in events:
        flat = flatten(event)
        lazy = Flat(event)
        for name in [*flat, *names]:
            assert lazy.get(name, "-") == flat.get(name, "-"), name
        assert list(lazy) == list(flat)
