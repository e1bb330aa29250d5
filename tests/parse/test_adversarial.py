"""The ReDoS check: no rule of any pack may backtrack on lines built against it (shipper/parse/adversarial.py).

This one test times: a rule that backtracks takes seconds on a 16 KiB line, a linear one a few
milliseconds, so the budget sits an order of magnitude above the worst linear rule and each line is
timed as the best of three runs."""

from __future__ import annotations

from shipper.parse.adversarial import probes, worst_lines
from shipper.parse.packs import load_packs

BUDGET_SECONDS = 0.050  # per 16 KiB line (the longest message rules are tried on)


def test_no_rule_of_any_pack_backtracks_on_adversarial_lines():
    worst = worst_lines(list(probes()), keep=60)
    slow = [t.describe() for t in worst if t.seconds > BUDGET_SECONDS]
    assert not slow, "\n".join(slow)


def test_the_check_finds_a_rule_that_backtracks():
    """Exim's host-error rule once read `(?: \\S+=\\S+)*`: 6 s for a line of `=`. The check must see it."""
    exim = next(p for p in load_packs() if p.source == "exim")
    rules = [r for r in exim.rules if r.id == "exim-host-error"]
    old = rules[0].model_copy(update={"match": rules[0].match.replace("(?: [^\\s=]+=\\S+)*+", "(?: \\S+=\\S+)*")})
    assert old.match != rules[0].match
    worst = worst_lines(list(probes((exim.model_copy(update={"rules": [old]}),))), length=8192, keep=5)
    assert worst[0].seconds > BUDGET_SECONDS and worst[0].token == "="
