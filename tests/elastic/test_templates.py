"""The bundled templates: generated from the field definitions, ECS-typed, adapted per cluster."""

from __future__ import annotations

import json

import orjson
import pytest

from shipper.elastic.templates import (
    LifecycleAges,
    adapt,
    content_hash,
    dumps,
    file_name,
    load_bundled,
    render,
    with_meta,
)
from shipper.schema.fields import load_fields
from shipper.schema.mappings import FULL, Capabilities, field_mapping, properties, transaction_fields
from tests.conftest import ROOT, ecs_reference

# Mapping parameters where we differ from ECS's component templates on purpose, and why.
ECS_MAPPING_EXCEPTIONS = {
    ("log.syslog.structured_data", "ignore_above"): "a flattened value over 32 KiB makes Elasticsearch refuse the "
    "whole event (immense term); RFC 5424 lets a sender put anything there",
}

TEST_NODE = Capabilities(modules=frozenset({"apm", "transport-netty4", "x-pack-core", "x-pack-security"}), ilm=False)


def test_bundled_files_are_generated_and_current():
    """index_templates/ is what render() makes: run `python3 scripts/regen_templates.py` after editing fields."""
    rendered = render()
    on_disk = {p.relative_to(ROOT / "index_templates").as_posix() for p in (ROOT / "index_templates").rglob("*.json")}
    assert on_disk == {file_name(kind, name) for kind, name in rendered}
    for (kind, name), body in rendered.items():
        assert (ROOT / "index_templates" / file_name(kind, name)).read_bytes() == dumps(body), name
    assert load_bundled() == rendered


def leaf(props: dict, name: str) -> dict:
    node = {"properties": props}
    for part in name.split("."):
        node = node["properties"][part]
    return node


def test_every_field_is_mapped_with_its_type_and_nothing_else():
    fields = load_fields()
    mappings = load_bundled()[("component", "logs-mail@mappings")]["template"]["mappings"]
    assert mappings["dynamic"] == "strict"
    assert mappings["date_detection"] is False

    def leaves(props: dict, prefix: str = "") -> dict:
        out = {}
        for key, spec in props.items():
            if "properties" in spec:
                out.update(leaves(spec["properties"], f"{prefix}{key}."))
            else:
                out[f"{prefix}{key}"] = spec
        return out

    mapped = leaves(mappings["properties"])
    assert set(mapped) == set(fields)
    expected = {"text": "match_only_text"}
    for name, spec in mapped.items():
        assert spec["type"] == expected.get(fields[name].type, fields[name].type), name


def ecs_component_leaf(name: str) -> dict | None:
    reference = ecs_reference()
    assert reference is not None
    top = name.split(".")[0] if "." in name else "base"
    path = reference.parent / "component" / f"{top}.json"
    if not path.exists():
        path = reference.parent / "component" / "base.json"
    props = json.loads(path.read_text())["template"]["mappings"]["properties"]
    try:
        return leaf(props, name)
    except KeyError:
        return None


def test_ecs_fields_map_exactly_as_ecs_does():
    """Same type and the same index/doc_values/ignore_above as ECS's own component templates."""
    if ecs_reference() is None:
        pytest.skip("ECS reference (shared/reference/ecs) not present")
    fields = {**load_fields(), **transaction_fields()}
    for name, field in fields.items():
        if not field.ecs:
            continue
        ecs = ecs_component_leaf(name)
        assert ecs is not None, name
        ours = field_mapping(field)
        for key in ("type", "index", "doc_values", "ignore_above"):
            if (name, key) not in ECS_MAPPING_EXCEPTIONS:
                assert ours.get(key) == ecs.get(key), (name, key, ours, ecs)


def test_data_stream_template_outranks_the_stacks_logs_template():
    template = load_bundled()[("index", "logs-mail")]
    assert template["index_patterns"] == ["logs-mail.*-*"]
    assert template["data_stream"] == {}
    assert template["priority"] > 100  # the built-in logs-*-* template
    assert "logs-mail@custom" in template["ignore_missing_component_templates"]


def test_transactions_template_is_a_regular_index():
    template = load_bundled()[("index", "mail-transactions")]
    assert template["index_patterns"] == ["mail-transactions-*"]
    assert "data_stream" not in template
    props = load_bundled()[("component", "mail-transactions@mappings")]["template"]["mappings"]["properties"]
    assert leaf(props, "mail.recipients.status")["type"] == "keyword"
    assert leaf(props, "email.local_id")["type"] == "keyword"


def walk_types(body) -> set[str]:
    found = set()
    if isinstance(body, dict):
        if isinstance(body.get("type"), str):
            found.add(body["type"])
        for value in body.values():
            found |= walk_types(value)
    return found


def test_adapting_to_the_integ_test_node_drops_what_it_lacks():
    adapted = adapt(load_bundled(), TEST_NODE, LifecycleAges())
    assert ("ilm", "logs-mail") not in adapted.objects
    settings = adapted.objects[("component", "logs-mail@settings")]["template"]["settings"]
    assert "index.lifecycle.name" not in settings
    types = walk_types(adapted.objects)
    assert not types & {"match_only_text", "wildcard", "constant_keyword"}
    assert any("ILM is not available" in note for note in adapted.notes)
    assert any("mapper-extras" in note and "match_only_text" in note for note in adapted.notes)
    assert "analysis" not in settings  # word parts need analysis-common
    assert any("analysis-common" in note and "spamhaus" in note for note in adapted.notes)
    original = adapt(load_bundled(), TEST_NODE, LifecycleAges())  # the bundled objects are left alone
    assert original.objects == adapted.objects
    # event.original keeps ECS's index: false / doc_values: false even as a fallback
    props = adapted.objects[("component", "logs-mail@mappings")]["template"]["mappings"]["properties"]
    assert leaf(props, "event.original") == {"type": "keyword", "index": False, "doc_values": False}


def test_a_full_cluster_gets_the_templates_as_bundled():
    adapted = adapt(load_bundled(), FULL, LifecycleAges())
    assert adapted.objects == load_bundled()
    assert adapted.notes == []


def test_lifecycle_ages_are_configurable():
    ages = LifecycleAges(rollover_age="1d", rollover_size="10gb", delete_after="30d")
    policy = adapt(load_bundled(), FULL, ages).objects[("ilm", "logs-mail")]["policy"]
    assert policy["phases"]["hot"]["actions"]["rollover"] == {"max_age": "1d", "max_primary_shard_size": "10gb"}
    assert policy["phases"]["delete"]["min_age"] == "30d"
    forever = adapt(load_bundled(), FULL, LifecycleAges(delete_after=None)).objects[("ilm", "logs-mail")]
    assert "delete" not in forever["policy"]["phases"]


def test_meta_stamp_carries_the_content_hash():
    body = load_bundled()[("index", "logs-mail")]
    stamped = with_meta("index", body)
    assert stamped["_meta"]["content_hash"] == content_hash(body)
    assert "content_hash" not in body["_meta"]
    policy = load_bundled()[("ilm", "logs-mail")]
    assert with_meta("ilm", policy)["policy"]["_meta"]["content_hash"] == content_hash(policy)


def test_a_field_that_is_also_an_object_is_refused():
    from shipper.schema.fields import FieldDef

    fields = {
        "mail.hop": FieldDef(name="mail.hop", type="keyword", description="x"),
        "mail.hop.count": FieldDef(name="mail.hop.count", type="long", description="x"),
    }
    with pytest.raises(ValueError, match="both a field and an object"):
        properties(fields)


def test_dumps_is_stable_json():
    body = render()[("index", "logs-mail")]
    assert orjson.loads(dumps(body)) == body


def test_text_is_indexed_with_the_parts_of_names_and_searched_plainly():
    """`spamhaus` must find `zen.spamhaus.org` (and the whole name itself): index-time word parts, kept
    originals, a plain search analyzer, on every text field (match_only_text takes the index's default)."""
    for name in ("logs-mail@settings", "mail-transactions@settings"):
        analysis = load_bundled()[("component", name)]["template"]["settings"]["analysis"]
        parts = analysis["filter"]["mail_word_parts"]
        assert parts["type"] == "word_delimiter_graph" and parts["preserve_original"] is True
        assert analysis["analyzer"]["default"]["filter"] == ["mail_word_parts", "flatten_graph", "lowercase"]
        assert analysis["analyzer"]["default_search"] == {"type": "custom", "tokenizer": "standard",
                                                          "filter": ["lowercase"]}  # fmt: skip
