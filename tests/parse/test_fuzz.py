"""Property tests: parse never raises, always returns one contract-honouring event per line."""

from __future__ import annotations

import io

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipper.core.event import nest
from shipper.pipeline.framing import read_lines
from shipper.schema.contract import contract_errors

PREFIXES = st.sampled_from([
    "", "Mar  3 10:00:00 mx1 postfix/smtpd[1]: ", "Mar  3 10:00:00 mx1 postfix/qmgr[1]: 0A1B23E0E1: ",
    "<22>1 2026-03-12T10:00:00Z mx4 postfix/smtp 1 - - ", "@4000000063a3b2f01c9c3800 ",
    "2026-03-12T10:00:00.5+01:00 h postfix/postscreen[2]: ", "Mar  3 10:00:00 mx1 postfix/smtp[1]: ",
    "Mar  3 10:00:00 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from a[", "message repeated 2 times: [",
])  # fmt: skip
FRAGMENTS = st.sampled_from([
    "to=<", ">, relay=", "[", "]", ":25", "delay=", "1.5", "delays=", "/", "dsn=", "5.1.1", "status=", "sent",
    " (", ")", "from=<", "client=", "connect from ", "unknown", "192.0.2.1", "::1", "999.9.9.9", "; ", " ",
    "\x00", "\ufffd", "é", "%{IP}", "(?P<x>", "\\", "\r", "warning: ", "NOQUEUE: ",
])  # fmt: skip
LINES = st.builds(lambda p, f, t: p + "".join(f) + t, PREFIXES, st.lists(FRAGMENTS, max_size=20), st.text(max_size=40))


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(LINES)
def test_parse_never_raises_and_honours_the_contract(parser, line):
    parsed = parser.parse(line)
    event = nest(parsed.fields)
    assert event["event"]["original"] == line
    assert contract_errors(event) == []
    assert orjson.loads(orjson.dumps(event)) == event


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_arbitrary_bytes_give_one_event_per_line(parser, data):
    decoded = list(read_lines(io.BytesIO(data)))
    expected = data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
    assert len(decoded) == expected
    for text, tags in decoded:
        parsed = parser.parse(text, tags or None)
        assert contract_errors(nest(parsed.fields)) == []


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(LINES)
def test_fast_path_equals_reference_semantics(parser, line):
    parsed = parser.parse(line)
    doc, key = parser.parse_doc(line)
    assert doc == nest(parsed.fields)
    assert key == (parsed.dataset, parsed.rule)
