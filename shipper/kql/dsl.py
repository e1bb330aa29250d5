"""KQL ast → Elasticsearch query DSL, as Kibana's kuery functions build it: a value is `match` (exact on a
keyword, words on text, CIDR on an ip), a quoted one `match_phrase`, a wildcard one `wildcard` on keywords
and `query_string` on text, `field:*` is `exists`, free text is `multi_match` over every field (lenient),
`and` is a bool filter, `or` a bool should, `not` a must_not, `field:{...}` a nested query. A field name
with `*` stands for every known field it matches. Field types come from fields.yml (offline) or the
cluster's `_field_caps` (types.py)."""

from __future__ import annotations

import fnmatch
from typing import Any

from shipper.kql.ast import And, Is, MatchAll, Nested, Node, Not, Or, Range, Value

KEYWORDISH = {"keyword", "constant_keyword", "wildcard"}
OPERATORS = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}


def literal(value: Value) -> str:
    """The value without KQL's escape of a literal star (kept only in wildcard patterns)."""
    return value.text if value.wildcard else value.text.replace("\\*", "*")


def fields_for(name: str, types: dict[str, str]) -> list[str]:
    if "*" not in name:
        return [name]
    return sorted(f for f in types if fnmatch.fnmatchcase(f, name))


def to_dsl(node: Node, types: dict[str, str], prefix: str = "") -> dict[str, Any]:
    if isinstance(node, MatchAll):
        return {"match_all": {}}
    if isinstance(node, And):
        return {"bool": {"filter": [to_dsl(c, types, prefix) for c in node.children]}}
    if isinstance(node, Or):
        return {"bool": {"should": [to_dsl(c, types, prefix) for c in node.children], "minimum_should_match": 1}}
    if isinstance(node, Not):
        return {"bool": {"must_not": [to_dsl(node.child, types, prefix)]}}
    if isinstance(node, Nested):
        path = prefix + node.path
        return {"nested": {"path": path, "query": to_dsl(node.query, types, path + "."), "score_mode": "none"}}
    if isinstance(node, Range):
        names = fields_for(prefix + node.field, types)
        queries = [{"range": {n: {OPERATORS[node.operator]: literal(node.value)}}} for n in names]
        return _any(queries)
    assert isinstance(node, Is)
    if node.field is None:
        return _free_text(node.value)  # type: ignore[arg-type]
    names = fields_for(prefix + node.field, types)
    if node.value is None:
        return _any([{"exists": {"field": n}} for n in names])
    return _any([_field_query(n, node.value, types.get(n)) for n in names])


def _any(queries: list[dict[str, Any]]) -> dict[str, Any]:
    if len(queries) == 1:
        return queries[0]
    if not queries:
        return {"match_none": {}}
    return {"bool": {"should": queries, "minimum_should_match": 1}}


def _field_query(name: str, value: Value, kind: str | None) -> dict[str, Any]:
    if value.quoted:
        return {"match_phrase": {name: value.text}}
    if value.wildcard:
        if kind in KEYWORDISH:
            return {"wildcard": {name: {"value": value.text}}}
        return {"query_string": {"fields": [name], "query": _query_string_escape(value.text)}}
    return {"match": {name: literal(value)}}


def _free_text(value: Value) -> dict[str, Any]:
    if value.quoted:
        return {"multi_match": {"type": "phrase", "query": value.text, "lenient": True}}
    if value.wildcard:
        return {"query_string": {"query": _query_string_escape(value.text)}}
    return {"multi_match": {"type": "best_fields", "query": literal(value), "lenient": True}}


def _query_string_escape(pattern: str) -> str:
    """A KQL wildcard pattern for query_string: every reserved character escaped but the wildcards."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern) and pattern[i + 1] == "*":
            out.append("\\*")
            i += 2
            continue
        if c != "*" and c in '+-=&|><!(){}[]^"~?:\\/ ':
            out.append("\\" + c)
        else:
            out.append(c)
        i += 1
    return "".join(out)
