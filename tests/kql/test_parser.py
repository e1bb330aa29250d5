"""KQL as Kibana's grammar reads it: precedence, value lists, ranges, exists, wildcards, escapes, nested
queries, free text, and syntax errors with their column."""

from __future__ import annotations

import pytest

from shipper.kql.ast import And, Is, MatchAll, Nested, Not, Or, Range, Value
from shipper.kql.parser import KqlSyntaxError, parse


def v(text: str, quoted: bool = False, wildcard: bool = False) -> Value:
    return Value(text, quoted, wildcard)


@pytest.mark.parametrize(("query", "tree"), [
    ("", MatchAll()),
    ("   ", MatchAll()),
    ("a:b", Is("a", v("b"))),
    ("a : b", Is("a", v("b"))),
    ('a:"b c"', Is("a", v("b c", quoted=True))),
    ("a:b c", Is("a", v("b c"))),  # an unquoted value may hold spaces: match, by words
    ("a:b and", Is("a", v("b and"))),  # `and` is a keyword only with a space after it, as in Kibana
    ("a:*", Is("a", None)),
    ("a:b*", Is("a", v("b*", wildcard=True))),
    ("a:b\\*", Is("a", v("b\\*"))),  # an escaped star is a star
    ("free text", Is(None, v("free text"))),
    ('"a phrase"', Is(None, v("a phrase", quoted=True))),
    ("a:b and c:d or e:f", Or((And((Is("a", v("b")), Is("c", v("d")))), Is("e", v("f"))))),
    ("a:b or c:d and e:f", Or((Is("a", v("b")), And((Is("c", v("d")), Is("e", v("f"))))))),
    ("not a:b and c:d", And((Not(Is("a", v("b"))), Is("c", v("d"))))),
    ("NOT (a:b OR c:d)", Not(Or((Is("a", v("b")), Is("c", v("d")))))),
    ("a:(b or c)", Or((Is("a", v("b")), Is("a", v("c"))))),
    ("a:(b and not c)", And((Is("a", v("b")), Not(Is("a", v("c")))))),
    ("n >= 5", Range("n", ">=", v("5"))),
    ("n<5", Range("n", "<", v("5"))),
    ("d > 2026-11-28", Range("d", ">", v("2026-11-28"))),
    ("items:{ name: x and qty > 2 }", Nested("items", And((Is("name", v("x")), Range("qty", ">", v("2")))))),
    ('a:"quote \\" inside"', Is("a", v('quote " inside', quoted=True))),
    ("a:b\\:c", Is("a", v("b:c"))),
    ("a:\\or", Is("a", v("or"))),  # an escaped keyword is a value
    ("source.ip: 192.0.2.0/24", Is("source.ip", v("192.0.2.0/24"))),
])  # fmt: skip
def test_parses_as_kibana_does(query, tree):
    assert parse(query) == tree


@pytest.mark.parametrize(("query", "column"), [
    ("a:(b", 5),
    ('a:"open', 3),
    ("a:b and ", 9),  # `and` then nothing
    ("a:b)", 4),
    ("message: cannot find", 13),  # `not ` is a keyword wherever it starts, as in Kibana's grammar
    (")", 1),
])  # fmt: skip
def test_syntax_errors_name_their_column(query, column):
    with pytest.raises(KqlSyntaxError) as caught:
        parse(query)
    assert caught.value.column == column, str(caught.value)
