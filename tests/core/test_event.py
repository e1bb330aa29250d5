from __future__ import annotations

import orjson

from shipper.core.event import flatten, nest


def test_nest_and_flatten_round_trip():
    flat = {"@timestamp": "t", "message": "m", "event.kind": "event", "event.category": ["email"],
            "mail.delays.in_qmgr": 0.1, "mail.delay": 1.0, "log.syslog.structured_data": {"a": {"b": "c"}}}  # fmt: skip
    doc = nest(flat)
    assert doc["event"] == {"kind": "event", "category": ["email"]}
    assert doc["mail"] == {"delays": {"in_qmgr": 0.1}, "delay": 1.0}
    assert flatten(doc) == flat
    assert nest(dict(flat)) == doc  # the cached builder gives the same


def test_conflicting_names_fall_back_to_generic_nesting():
    assert nest({"a": 1, "a.b": 2}) == {"a": {"b": 2}}


def test_ndjson_is_one_line():
    out = orjson.dumps(nest({"message": "line\nwith newline", "x.y": 1}), option=orjson.OPT_APPEND_NEWLINE)
    assert out.count(b"\n") == 1 and out.endswith(b"\n")
