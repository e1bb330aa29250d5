"""The weaker regex of what a pattern requires (shipper/parse/literals.py): every text the pattern matches
matches it too; checked on every pack rule's own examples, and on the shapes the reading handles."""

from __future__ import annotations

import re

import pytest
import re2

from shipper.parse.literals import escape, required
from shipper.parse.packs import Expansion, load_packs
from shipper.parse.reasons import reason_rules


def search(weaker: str, text: str) -> bool:
    options = re2.Options()
    options.case_sensitive = False
    return re2.compile(weaker, options).search(text.encode()) is not None


def test_every_pack_rule_example_passes_what_its_rule_requires():
    checked = 0
    for pack in load_packs():
        for rule in pack.rules:
            exp = Expansion(pack.patterns, str(pack.path))
            exp.expand(pack.prefix)
            weaker = required(exp.expand(rule.match))
            if weaker is None:
                continue
            for example in rule.examples:
                assert search(weaker, example.line), (pack.source, rule.id, weaker, example.line)
                checked += 1
    assert checked > 300


def test_reason_rules_yield_a_requirement_each():
    assert all(required(rule.match) for rule in reason_rules())


@pytest.mark.parametrize(
    ("pattern", "weaker"),
    [
        (r"status=(?P<s>\w+), delay=", r"status\x3d.*\x2c\x20delay\x3d"),
        (r"a(?:bc|de)f", "a.*(?:bc|de).*f"),
        (r"(?:ab)?c", "c"),
        (r"(?:ab)+c", "ab.*c"),
        (r"(?>x(?=yz))w", "x.*w"),  # a look-ahead sees text the next item matches: not in the order
        (r"(?!no)yes", "yes"),
        (r"\d+[a-z]*", None),
        (r"a|.*", None),  # one branch needs nothing
        ("caf\u00e9 ok", r"caf.*\x20ok"),  # a non-ASCII literal is left out
    ],
)
def test_shapes(pattern, weaker):
    assert required(pattern) == weaker


def test_what_is_required_is_found_in_every_text_the_pattern_matches():
    texts = ["status=sent, delay=1", "ab ab c", "xyzw", "cafe ok", "CAF\u00c9 OK", "defer: x"]
    for pattern in [r"status=(?P<s>\w+), delay=", r"(?:ab\s)+c", r"xyz?w", r"(?i)defer: ", r"caf.\s+ok"]:
        weaker = required(pattern)
        for text in texts:
            if re.search(pattern, text) and weaker is not None:
                assert search(weaker, text), (pattern, text)


def test_escape_keeps_only_letters_and_digits_bare():
    assert escape("a.b*c") == r"a\x2eb\x2ac"
    assert re.fullmatch(escape("[x]{1}\\"), "[x]{1}\\")
