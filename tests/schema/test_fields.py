"""fields.yml against ECS and against what the packs and envelope actually emit."""

from __future__ import annotations

import re

import pytest
import yaml

from shipper.parse.packs import load_packs
from shipper.schema.fields import FieldTypeError, coerce, load_fields
from tests.conftest import ROOT, ecs_reference

# ECS types we map to a narrower/wider one on purpose, and why.
ECS_TYPE_EXCEPTIONS: dict[str, str] = {}
# Fields the Elasticsearch output builds as nested objects (tests/outputs check they are emitted).
SET_BY_OUTPUT = {
    "data_stream.type", "data_stream.dataset", "data_stream.namespace", "error.type",
    "mail.deadletter.index", "mail.deadletter.status",
    "ecs.version", "related.ip", "related.user", "related.hosts",  # shipper/enrich/ecs.py (tests/enrich/test_ecs.py)
    # shipper/enrich/geoip.py, from a database's record layout (tests/enrich/test_geoip.py)
    "source.geo.country_iso_code", "source.geo.country_name", "source.geo.continent_code",
    "source.geo.continent_name", "source.geo.region_iso_code", "source.geo.region_name", "source.geo.city_name",
    "source.geo.timezone", "source.geo.location", "source.as.number", "source.as.organization.name",
}  # fmt: skip
# Non-ECS fields outside mail.*: the Beats' own names, which Kibana users already know.
BEATS_FIELDS = {"log.offset", "log.source.address"}  # as Filebeat names them: dashboards and users know them


def test_ecs_fields_agree_with_ecs():
    reference = ecs_reference()
    if reference is None:
        pytest.skip("ECS reference (shared/reference/ecs/ecs_flat.yml or $SHIPPER_ECS_FLAT) not present")
    ecs = yaml.safe_load(reference.read_text())
    for name, definition in load_fields().items():
        if definition.ecs:
            assert name in ecs, f"{name} is marked ecs but is not an ECS field"
            ecs_type = ecs[name]["type"]
            expected = {"match_only_text": "text"}.get(ecs_type, ecs_type)
            assert definition.type == ECS_TYPE_EXCEPTIONS.get(name, expected), name
            assert definition.array == ("array" in (ecs[name].get("normalize") or [])), name
            ecs_multi = {(m["name"], {"match_only_text": "text"}.get(m["type"], m["type"]))
                         for m in ecs[name].get("multi_fields") or []}  # fmt: skip
            assert {(m.name, m.type) for m in definition.multi_fields} == ecs_multi, name
        else:
            assert name not in ecs, f"{name} is an ECS field: mark it ecs: true"
            assert name.startswith("mail.") or name in BEATS_FIELDS, f"non-ECS field {name} must live under mail.*"


def test_every_defined_field_is_emitted_somewhere():
    sources = [p.read_text() for p in (ROOT / "grok_patterns").glob("*.yml")]
    sources += [p.read_text() for p in (ROOT / "shipper").rglob("*.py")]
    text = "\n".join(sources)
    unused = [
        name
        for name in load_fields()
        if name not in SET_BY_OUTPUT and not re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", text)
    ]
    assert unused == []


def test_packs_set_only_defined_fields():
    fields = load_fields()
    for pack in load_packs():
        for name in pack.defaults:
            assert name in fields
        for rule in pack.rules:
            for name in [*rule.set, *(d.to for d in rule.derive if d.to)]:
                assert name in fields, (rule.id, name)


@pytest.mark.parametrize(
    ("field", "raw", "value"),
    [
        ("source.ip", "192.0.2.1", "192.0.2.1"),
        ("source.ip", "2001:DB8:0::1", "2001:db8::1"),
        ("source.ip", "IPv6:2001:db8::1", "2001:db8::1"),
        ("source.ip", "::ffff:127.0.0.1", "127.0.0.1"),  # IPv4-mapped: its IPv4 address, as Elasticsearch keeps it
        ("source.ip", "::FFFF:7f00:1", "127.0.0.1"),
        ("source.port", "25", 25),
        ("mail.delay", "0.27", 0.27),
        ("tls.established", "yes", True),
        ("email.to.address", "a@b", ["a@b"]),
    ],
)
def test_coercion(field, raw, value):
    assert coerce(field, raw) == value


@pytest.mark.parametrize(
    ("field", "raw"),
    [("source.ip", "256.1.1.1"), ("source.ip", "01.2.3.4"), ("source.port", "x"), ("mail.delay", "1/2"),
     ("tls.established", "maybe")],
)  # fmt: skip
def test_coercion_rejects(field, raw):
    with pytest.raises(FieldTypeError):
        coerce(field, raw)


def test_free_text_people_chart_is_aggregatable_with_a_text_field_for_words():
    """A terms aggregation on a reason must work (keyword), and word search too (`.text`), as ECS does it."""
    from shipper.schema.mappings import field_mapping, transaction_fields

    fields = {**load_fields(), **transaction_fields()}
    for name in ("mail.reject.reason", "mail.response", "mail.reason.text", "mail.reason.hint", "mail.text",
                 "mail.recipients.response"):  # fmt: skip
        mapping = field_mapping(fields[name])
        assert mapping["type"] == "keyword" and mapping["ignore_above"] == 1024, name
        assert mapping["fields"] == {"text": {"type": "match_only_text"}}, name
