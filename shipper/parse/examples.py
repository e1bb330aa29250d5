"""Run every pack rule's example lines through the real parser and compare the rule's fields exactly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from shipper.core.event import nest
from shipper.parse.packs import Example, Pack, Rule, load_packs
from shipper.parse.parser import Parser
from shipper.schema.contract import contract_errors
from shipper.schema.fields import FieldTypeError, coerce

# Examples are read as if logged in 2026 in UTC, so expected values never depend on today's date.
EXAMPLE_REFERENCE = date(2026, 11, 28)


@dataclass(frozen=True)
class ExampleFailure:
    pack: str
    rule: str
    line: str
    problem: str


def _expected(fields: dict[str, Any]) -> dict[str, Any]:
    expected = {}
    for name, value in fields.items():
        expected[name] = value if name.startswith("event.") else coerce(name, value)
    return expected


def example_parser(packs: tuple[Pack, ...] | None = None) -> Parser:
    return Parser(packs if packs is not None else load_packs(), timezone="UTC", reference=EXAMPLE_REFERENCE)


def check_example(parser: Parser, rule: Rule, example: Example, source: str | None = None) -> str | None:
    """None when the example line matches `rule`, gives exactly the expected fields and a whole event that
    honours the output contract; else the problem. A line without a syslog program goes to `source`'s
    pack, as lines of a file whose path names that pack do."""
    parser.set_path_source(source)
    parsed = parser.parse(example.line)
    if parsed.rule != rule.id:
        return f"matched rule {parsed.rule!r} instead"
    try:
        expected = _expected(example.fields)
    except (KeyError, FieldTypeError) as exc:
        return f"expected fields are invalid: {exc}"
    got = parsed.rule_fields or {}
    if got != expected:
        return _diff(expected, got)
    broken = contract_errors(nest(parsed.fields))
    return f"event breaks the output contract: {'; '.join(broken)}" if broken else None


def check_examples(packs: tuple[Pack, ...] | None = None) -> tuple[int, list[ExampleFailure]]:
    packs = packs if packs is not None else load_packs()
    parser = example_parser(packs)
    failures: list[ExampleFailure] = []
    count = 0
    for pack in packs:
        for rule in pack.rules:
            for example in rule.examples:
                count += 1
                problem = check_example(parser, rule, example, pack.source)
                if problem:
                    failures.append(ExampleFailure(pack.source, rule.id, example.line, problem))
    return count, failures


def _diff(expected: dict[str, Any], got: dict[str, Any]) -> str:
    parts = []
    for name in sorted(expected.keys() | got.keys()):
        if name not in got:
            parts.append(f"missing {name}={expected[name]!r}")
        elif name not in expected:
            parts.append(f"unexpected {name}={got[name]!r}")
        elif expected[name] != got[name]:
            parts.append(f"{name}: expected {expected[name]!r}, got {got[name]!r}")
    return "; ".join(parts)
