"""Classify a deferral, bounce or reject reason into `mail.reason.category` (+ `mail.reason.hint`), from the
rules in reasons.yml (data: add a rule there, not code)."""

from __future__ import annotations

import re
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


def categories() -> list[str]:
    """Every `mail.reason.category` there is: the rules' and `on hold` (a message an admin must release)."""
    return [*dict.fromkeys(rule.category for _, rule in _rules()), "on hold"]


def classify(text: str) -> tuple[str, str | None] | None:
    """(category, hint) of the first rule matching a reply or reason; None when no rule knows it.
    Only failure lines are classified, so trying the rules in turn costs little."""
    text = text[:4096]
    for regex, rule in _rules():
        if regex.search(text):
            return rule.category, rule.hint
    return None


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
