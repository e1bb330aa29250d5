"""KQL over events in memory, with the meaning Elasticsearch gives the DSL of dsl.py: keywords match exactly
(case-sensitive), text matches by words (Elasticsearch's standard tokenizer, approximated: runs of letters
and digits joined by `.`, `'` or, between letters, `:`; lowercased), a phrase by consecutive words, an ip
by address or CIDR, numbers and dates by value; an array matches when one of its values does. Free text
looks in every indexed field. What `shipper grep` runs over local logs."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from shipper.core.event import LEAF_OBJECTS, flatten
from shipper.core.timefmt import parse_iso
from shipper.kql.ast import And, Is, MatchAll, Nested, Node, Not, Or, Range, Value
from shipper.kql.dsl import fields_for, literal
from shipper.kql.types import multi_field_parents

_WORD = re.compile(r"\w+(?:(?:[.'\u2019]|(?<=[^\W\d_]):(?=[^\W\d_]))\w+)*")
NOT_SEARCHED = {"event.original"}  # stored only (index: false): Elasticsearch cannot search it


@lru_cache(maxsize=65536)
def words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.lower()))


def compile_query(node: Node, types: dict[str, str]) -> Callable[[dict[str, Any]], bool]:
    """A predicate over one event (nested, as the parser emits it)."""

    def run(event: dict[str, Any]) -> bool:
        return _matches(node, Flat(event), types, "")

    return run


def fields_read(node: Node, types: dict[str, str], prefix: str = "") -> set[str] | None:
    """Every field the query reads (a multi-field's parent too); None when it reads them all (free text)."""
    if isinstance(node, MatchAll):
        return set()
    if isinstance(node, And | Or):
        out: set[str] = set()
        for child in node.children:
            found = fields_read(child, types, prefix)
            if found is None:
                return None
            out |= found
        return out
    if isinstance(node, Not):
        return fields_read(node.child, types, prefix)
    if isinstance(node, Nested):
        return fields_read(node.query, types, prefix + node.path + ".")
    if node.field is None:
        return None
    names = set(fields_for(prefix + node.field, types))
    parents = multi_field_parents()
    return names | {parents[n] for n in names if n in parents}


_MISSING = object()
_PLANS: dict[str, tuple[str, ...] | None] = {}


def _plan(name: str) -> tuple[str, ...] | None:
    """The keys leading to a flattened name; None when a leaf object lies on the way (flatten stops there)."""
    parts = tuple(name.split("."))
    blocked = any(".".join(parts[:i]) in LEAF_OBJECTS for i in range(1, len(parts)))
    plan = _PLANS[name] = None if blocked else parts
    return plan


class Flat:
    """`flatten(event)` as far as a query reads it: a field's value by walking the nested event, the whole
    flattening only for free text. Flattening every event cost more than parsing it (`shipper grep`)."""

    __slots__ = ("doc", "flat")

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.flat: dict[str, Any] | None = None

    def get(self, name: str, default: Any = None) -> Any:
        plan: Any = _PLANS.get(name, _MISSING)
        if plan is _MISSING:
            plan = _plan(name)
        if plan is None:
            return default
        node: Any = self.doc
        for part in plan:
            if type(node) is not dict:
                return default
            node = node.get(part, _MISSING)
            if node is _MISSING:
                return default
        if isinstance(node, dict) and name not in LEAF_OBJECTS:
            return default  # an object of more fields: not a flattened name
        return node

    def __iter__(self) -> Iterator[str]:
        if self.flat is None:
            self.flat = flatten(self.doc)
        return iter(self.flat)


def _values(flat: Flat, name: str) -> list[Any]:
    value = flat.get(name, flat.get(multi_field_parents().get(name, "")))
    if value is None:
        return []
    return [v for v in value if v is not None] if isinstance(value, list) else [value]


def _matches(node: Node, flat: Flat, types: dict[str, str], prefix: str) -> bool:
    if isinstance(node, MatchAll):
        return True
    if isinstance(node, And):
        return all(_matches(c, flat, types, prefix) for c in node.children)
    if isinstance(node, Or):
        return any(_matches(c, flat, types, prefix) for c in node.children)
    if isinstance(node, Not):
        return not _matches(node.child, flat, types, prefix)
    if isinstance(node, Nested):
        return _matches(node.query, flat, types, prefix + node.path + ".")
    if isinstance(node, Range):
        return any(_in_range(v, node.operator, literal(node.value), types.get(n))
                   for n in fields_for(prefix + node.field, types) for v in _values(flat, n))  # fmt: skip
    assert isinstance(node, Is)
    if node.field is None:
        assert node.value is not None
        return any(value_matches(v, node.value, types.get(n), lenient=True)
                   for n in flat if n not in NOT_SEARCHED for v in _values(flat, n))  # fmt: skip
    names = fields_for(prefix + node.field, types)
    if node.value is None:
        return any(_values(flat, n) for n in names)
    return any(value_matches(v, node.value, types.get(n)) for n in names for v in _values(flat, n))


def value_matches(actual: Any, value: Value, kind: str | None, lenient: bool = False) -> bool:
    if kind in NUMBERS:
        try:
            return not value.wildcard and float(literal(value)) == float(actual)
        except (TypeError, ValueError):
            return False
    if kind == "ip":
        return _ip_matches(str(actual), literal(value))
    if kind == "boolean":
        return str(actual).lower() == literal(value).lower()
    if kind == "date":
        try:
            return parse_iso(_iso(literal(value))) == parse_iso(str(actual))
        except ValueError:
            return False
    text = actual if isinstance(actual, str) else str(actual)
    if kind == "text":
        return _text_matches(text, value)
    if value.wildcard:
        return _wildcard(value.text).fullmatch(text) is not None
    return text == (value.text if value.quoted else literal(value))


NUMBERS = {"long", "integer", "short", "byte", "float", "double", "half_float", "scaled_float", "unsigned_long"}


def _text_matches(text: str, value: Value) -> bool:
    have = words(text)
    if value.wildcard:
        pattern = _wildcard(value.text.lower())
        return any(pattern.fullmatch(w) for w in have)
    want = words(literal(value))
    if not want:
        return False
    if not value.quoted:
        return any(w in have for w in want)
    n = len(want)
    return any(have[i : i + n] == want for i in range(len(have) - n + 1))


@lru_cache(maxsize=1024)
def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(map(re.escape, wildcard_parts(pattern))), re.DOTALL)


def wildcard_parts(pattern: str) -> list[str]:
    """The literal text between a KQL wildcard's unescaped `*`s (`\\x` is x)."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            current.append(pattern[i + 1])
            i += 2
            continue
        if pattern[i] == "*":
            parts.append("".join(current))
            current = []
        else:
            current.append(pattern[i])
        i += 1
    parts.append("".join(current))
    return parts


def _ip_matches(actual: str, wanted: str) -> bool:
    try:
        if "/" in wanted:
            return ipaddress.ip_address(actual) in ipaddress.ip_network(wanted, strict=False)
        return ipaddress.ip_address(actual) == ipaddress.ip_address(wanted)
    except ValueError:
        return False


def _iso(text: str) -> str:
    return text + "T00:00:00Z" if len(text) == 10 else text


def _in_range(actual: Any, operator: str, bound: str, kind: str | None) -> bool:
    try:
        if kind == "date":
            a, b = parse_iso(str(actual)), parse_iso(_iso(bound))
        elif kind in NUMBERS:
            a, b = float(actual), float(bound)  # type: ignore[assignment]
        elif kind == "ip":
            a, b = ipaddress.ip_address(str(actual)), ipaddress.ip_address(bound)  # type: ignore[assignment]
        else:
            a, b = str(actual), bound  # type: ignore[assignment]
    except (TypeError, ValueError):
        return False
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[operator]
