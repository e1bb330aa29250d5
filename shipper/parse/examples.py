"""Run every pack rule's example lines through the real parser and compare the rule's fields exactly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from shipper.parse.packs import Pack, load_packs
from shipper.parse.parser import Parser
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


def check_examples(packs: tuple[Pack, ...] | None = None) -> tuple[int, list[ExampleFailure]]:
    packs = packs if packs is not None else load_packs()
    parser = Parser(packs, timezone="UTC", reference=EXAMPLE_REFERENCE)
    failures: list[ExampleFailure] = []
    count = 0
    for pack in packs:
        for rule in pack.rules:
            for example in rule.examples:
                count += 1
                parsed = parser.parse(example.line)
                where = (pack.source, rule.id, example.line)
                if parsed.rule != rule.id:
                    failures.append(ExampleFailure(*where, f"matched rule {parsed.rule!r} instead"))
                    continue
                try:
                    expected = _expected(example.fields)
                except (KeyError, FieldTypeError) as exc:
                    failures.append(ExampleFailure(*where, f"expected fields are invalid: {exc}"))
                    continue
                got = parsed.rule_fields or {}
                if got != expected:
                    failures.append(ExampleFailure(*where, _diff(expected, got)))
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
