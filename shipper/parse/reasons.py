"""Classify a deferral, bounce or reject reason into `mail.reason.category` (+ `mail.reason.hint`), from the
rules in reasons.yml (data: add a rule there, not code)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter

from shipper.yamlload import load_yaml

RULES_FILE = Path(__file__).with_name("reasons.yml")


class ReasonRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str
    match: str
    hint: str | None = None


@cache
def _rules() -> tuple[tuple[re.Pattern[str], ReasonRule], ...]:
    rules = TypeAdapter(list[ReasonRule]).validate_python(load_yaml(RULES_FILE.read_text(encoding="utf-8")))
    return tuple((re.compile(rule.match, re.IGNORECASE), rule) for rule in rules)


def reason_rules() -> tuple[ReasonRule, ...]:
    """The rules in order: the first whose regex (case-insensitive) matches gives the category."""
    return tuple(rule for _, rule in _rules())


def categories() -> list[str]:
    """Every `mail.reason.category` there is: the rules' and `on hold` (a message an admin must release)."""
    return [*dict.fromkeys(rule.category for _, rule in _rules()), "on hold"]


def classify(text: str) -> tuple[str, str | None] | None:
    """(category, hint) of the first rule matching a reply or reason; None when no rule knows it."""
    index = _first_rule()(text[:4096])
    if index is None:
        return None
    rule = _rules()[index][1]
    return rule.category, rule.hint


def first_rule_reference(text: str) -> int | None:
    """The index of the first rule whose regex matches: the rules tried in turn (the reference semantics)."""
    for index, (regex, _) in enumerate(_rules()):
        if regex.search(text):
            return index
    return None


# Regex constructs whose meaning differs between Python's `re` and RE2 even on ASCII text (`\s` includes \v
# in one only, `$` matches before a final newline in one only): a rule using one keeps the reference path.
_DIVERGENT = re.compile(r"\\[sSvZAbB]|\$|\(\?[=!<]")


@cache
def _first_rule() -> Callable[[str], int | None]:
    """RE2's multi-pattern set finds every matching rule in one pass over the text (the first is the answer);
    trying the 16 case-insensitive regexes in turn cost ~25 us per failure line, more than the rest of its
    parse. Non-ASCII text (where case folding and classes may differ) and rules RE2 cannot take keep the
    reference path; tests/parse/test_reasons.py checks both agree on every sample and on fuzzed text."""
    rules = _rules()
    try:
        import re2  # google-re2, a wheel: absent on a platform without one
    except ImportError:
        return first_rule_reference
    if any(_DIVERGENT.search(regex.pattern) for regex, _ in rules):
        return first_rule_reference
    options = re2.Options()
    options.case_sensitive = False
    found = re2.Set.SearchSet(options)
    try:
        for regex, _ in rules:
            found.Add(regex.pattern)
    except re2.error:
        return first_rule_reference
    found.Compile()
    match = found.Match

    def first(text: str) -> int | None:
        if not text.isascii():
            return first_rule_reference(text)
        indexes = match(text)
        return min(indexes) if indexes else None

    return first


def annotate(doc: dict[str, Any]) -> dict[str, Any]:
    """Add mail.reason.category/.hint to a failed delivery, a reject or a failed connection (in place)."""
    event = doc.get("event")
    mail = doc.get("mail")
    if mail is None or event is None or event.get("outcome") != "failure":
        return doc
    reject = mail.get("reject")
    reason = mail.get("reason")
    text = (
        mail.get("response") or (reject.get("reason") if reject else None) or (reason.get("text") if reason else None)
    )
    if text is None:
        return doc
    found = classify(text)
    if found is not None:
        target = mail.setdefault("reason", {})
        target["category"] = found[0]
        if found[1]:
            target["hint"] = found[1]
    return doc


def annotate_flat(fields: dict[str, Any]) -> dict[str, Any]:
    """`annotate` for flat dotted fields (the parser's reference semantics)."""
    if fields.get("event.outcome") != "failure":
        return fields
    text = fields.get("mail.response") or fields.get("mail.reject.reason") or fields.get("mail.reason.text")
    found = classify(text) if isinstance(text, str) else None
    if found is not None:
        fields["mail.reason.category"] = found[0]
        if found[1]:
            fields["mail.reason.hint"] = found[1]
    return fields
