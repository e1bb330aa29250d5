"""Pack examples run as tests, one test per example line, plus the loader's error messages."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from shipper.parse.examples import check_example, check_examples, example_parser
from shipper.parse.packs import PARSED, PackError, _read_parsed, load_pack, load_packs, parsed_packs
from shipper.parse.parser import Parser
from shipper.resources import grok_patterns_dir

EXAMPLES = [
    pytest.param(pack, rule, example, id=f"{pack.source}/{rule.id}/{n}")
    for pack in load_packs()
    for rule in pack.rules
    for n, example in enumerate(rule.examples)
]


@pytest.fixture(scope="module")
def example_parser_all():
    return example_parser()


@pytest.mark.parametrize(("pack", "rule", "example"), EXAMPLES)
def test_example(example_parser_all, pack, rule, example):
    assert check_example(example_parser_all, rule, example, pack.source) is None


def test_every_postfix_daemon_named_by_the_issue_has_rules():
    postfix = next(p for p in load_packs() if p.source == "postfix")
    daemons = {d for rule in postfix.rules for d in rule.daemons}
    for daemon in ("smtpd", "postscreen", "cleanup", "qmgr", "smtp", "lmtp", "bounce", "pickup", "anvil",
                   "dnsblog", "tlsproxy", "scache", "verify", "master", "postsuper", "postfix-script"):  # fmt: skip
        assert daemon in daemons, daemon
    delivery = next(r for r in postfix.rules if r.id == "delivery")
    assert delivery.daemons == []  # smtp, lmtp, local, virtual, pipe, error, discard, retry alike


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yml"
    path.write_text(text)
    return path


MINIMAL = """
source: demo
dataset: mail.demo
description: d
programs: demo
rules:
  - id: r1
    match: 'hello %{WORD:mail.text}'
    event: {category: [email], type: [info], action: hello}
    examples: [{line: 'Jan  1 00:00:00 h demo[1]: hello world', fields: {mail.text: world}}]
"""


def test_minimal_pack_loads_and_parses(tmp_path):
    pack = load_pack(write(tmp_path, MINIMAL))
    parsed = Parser((pack,), timezone="UTC").parse("Jan  1 00:00:00 h demo[1]: hello world")
    assert parsed.rule == "r1"
    assert parsed.dataset == "mail.demo"
    assert parsed.fields["mail.text"] == "world"


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (
            ("category: [email]", "category: [mail]"),
            "rules[0].event.category (rule 'r1'): Value error, not ECS event.category",
        ),
        (("action: hello}", "action: hello, colour: red}"), "rules[0].event.colour (rule 'r1'): Extra inputs"),
        (("dataset: mail.demo", "dataset: demo"), "dataset: String should match pattern"),
        (("examples: [{line", "examples_: [{line"), "rules[0].examples (rule 'r1'): Field required"),
        (("description: d\n", ""), "description: Field required"),
    ],
)
def test_schema_errors_name_file_key_and_expectation(tmp_path, mutation, message):
    path = write(tmp_path, MINIMAL.replace(*mutation))
    with pytest.raises(PackError) as info:
        load_pack(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_invalid_yaml(tmp_path):
    with pytest.raises(PackError, match="not valid YAML"):
        load_pack(write(tmp_path, "source: [unclosed"))


def test_unknown_capture_field_is_rejected_at_compile(tmp_path):
    pack = load_pack(write(tmp_path, MINIMAL.replace("mail.text}", "mail.colour}")))
    with pytest.raises(PackError, match=r"unknown field 'mail\.colour'"):
        Parser((pack,), timezone="UTC").parse("Jan  1 00:00:00 h demo[1]: hello world")


def test_duplicate_rule_ids(tmp_path):
    text = MINIMAL + MINIMAL[MINIMAL.index("  - id: r1") :]
    with pytest.raises(PackError, match="rule id 'r1' is used twice"):
        load_pack(write(tmp_path, text))


def test_example_with_wrong_expectation_fails(tmp_path):
    pack = load_pack(write(tmp_path, MINIMAL.replace("fields: {mail.text: world}", "fields: {mail.text: earth}")))
    count, failures = check_examples((pack,))
    assert count == 1
    assert "mail.text: expected 'earth', got 'world'" in failures[0].problem


def test_the_bundled_parsed_packs_are_fresh():
    """grok_patterns/parsed.json holds every bundled pack as YAML reads it (regenerate it after editing a
    pack: PYTHONPATH=. python3 scripts/regen_parsed_packs.py)."""
    directory = grok_patterns_dir()
    committed = orjson.loads((directory / PARSED).read_bytes())
    assert committed == parsed_packs(directory)
    assert len(committed) == len(list(directory.glob("*.yml")))


def test_a_pack_is_read_from_parsed_json_only_while_its_bytes_are_those_parsed(tmp_path):
    path = write(tmp_path, MINIMAL)
    parsed = parsed_packs(tmp_path)
    ((_, raw),) = parsed.items()
    raw["description"] = "from parsed.json"  # told apart from what the YAML says
    (tmp_path / PARSED).write_bytes(orjson.dumps(parsed))
    _read_parsed.cache_clear()
    assert load_pack(path).description == "from parsed.json"
    path.write_text(MINIMAL.replace("description: d", "description: edited"))
    assert load_pack(path).description == "edited"
    (tmp_path / PARSED).write_bytes(b"{not json")
    _read_parsed.cache_clear()
    assert load_pack(path).description == "edited"
    _read_parsed.cache_clear()


def test_data_json_would_not_keep_is_not_parsed_ahead(tmp_path):
    numbered = MINIMAL.replace("rules:", "derive_note: {550: bounce}\nrules:")
    dated = MINIMAL.replace("description: d", "description: 2024-01-01")
    for text in (numbered, dated):
        write(tmp_path, text)
        assert parsed_packs(tmp_path) == {}
    write(tmp_path, MINIMAL)
    assert len(parsed_packs(tmp_path)) == 1


def test_the_grok_library_is_what_pygrok_reads_from_its_files():
    from pygrok import pygrok

    from shipper.parse.packs import grok_library

    theirs = pygrok._reload_patterns(pygrok.DEFAULT_PATTERNS_DIRS)
    assert grok_library() == {name: pattern.regex_str for name, pattern in theirs.items()}
    assert {"IP", "HOSTNAME", "INT", "NUMBER"} <= set(grok_library())
