"""Lines built to make a pack rule's regular expression backtrack: the ReDoS check of every rule of every
pack (tests/parse/test_adversarial.py) and `bench/adversarial_lines.py`.

Each rule's expression is compiled as the parser uses it (the pack's prefix, the rule, `\\Z`, tried with
`match`; a derive's pattern with `search`, a findall's with `findall`). Its inputs start like one of the
rule's own example messages, cut at a few places, and go on with one token repeated up to the length
asked: each punctuation character of the examples and of the expression, a letter, a digit, a space,
and the examples' `key=value`-like words. Backtracking needs an expression to get deep into the line
before the repetition starts, which the example prefixes give it, and a line that finally fails, which a
repetition with no proper end gives it.

Lines are timed in two rounds: every input at a quarter of the length (most of them take microseconds),
then the slowest ones again at the full length, the best of a few runs each.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from shipper.parse.envelope import EnvelopeParser
from shipper.parse.packs import Expansion, Pack, Rule, load_packs
from shipper.parse.parser import MAX_RULE_INPUT
from shipper.parse.timestamps import TimestampConverter, resolve_timezone

_WORD = re.compile(r"\S*[=:\[\]<>()@/]\S*")


@dataclass(frozen=True)
class Probe:
    pack: str
    rule: str
    kind: str  # match, derive or findall
    run: Callable[[str], object]
    messages: tuple[str, ...]
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class Timing:
    seconds: float
    probe: Probe
    cut: int  # how much of the example message leads the line
    token: str
    length: int

    def describe(self) -> str:
        return (f"{self.probe.pack}/{self.probe.rule} ({self.probe.kind}): {self.seconds * 1000:.1f} ms for "
                f"{self.length} chars: {self.cut} chars of an example, then {self.token!r} repeated")  # fmt: skip


def _messages(rule: Rule, envelope: EnvelopeParser) -> tuple[str, ...]:
    out = []
    for example in rule.examples[:3]:
        env = envelope.parse(example.line)
        out.append(env.message if env is not None else example.line)
    return tuple(out) or ("",)


def _tokens(expression: str, messages: tuple[str, ...]) -> tuple[str, ...]:
    punctuation = {c for text in (expression, *messages) for c in text if c in string.punctuation}
    words = sorted({w for m in messages for w in _WORD.findall(m)}, key=len)[:12]
    return (*sorted(punctuation), "a", "0", " ", "\t", "a ", "a=b ", "=a", *(w + " " for w in words))


def probes(packs: tuple[Pack, ...] | None = None) -> Iterator[Probe]:
    envelope = EnvelopeParser(TimestampConverter(resolve_timezone("UTC"), date(2026, 11, 28)))
    for pack in packs if packs is not None else load_packs():
        exp = Expansion(pack.patterns, str(pack.path))
        prefix = exp.expand(pack.prefix)
        for rule in pack.rules:
            messages = _messages(rule, envelope)
            body = exp.expand(rule.match)
            regex = re.compile(f"(?>{prefix})(?:{body})\\Z")
            yield Probe(pack.source, rule.id, "match", regex.match, messages, _tokens(body, messages))
            for derive in rule.derive:
                if derive.pattern is not None:
                    text = Expansion(pack.patterns, str(pack.path)).expand(derive.pattern)
                    yield Probe(pack.source, rule.id, "derive", re.compile(text).search, messages,
                                _tokens(text, messages))  # fmt: skip
                elif derive.findall is not None:
                    yield Probe(pack.source, rule.id, "findall", re.compile(derive.findall).findall, messages,
                                _tokens(derive.findall, messages))  # fmt: skip


def _cuts(message: str, most: int = 8) -> list[int]:
    """Where an example is cut before the repetition: its start, its end, and up to `most` places after a
    separator, spread over the line."""
    after = [i + 1 for i, c in enumerate(message) if c in " =:[]<>()"]
    picks = {0, len(message)} | {after[len(after) * k // most] for k in range(most) if after}
    return sorted(picks)


def _line(message: str, cut: int, token: str, length: int) -> str:
    head = message[:cut]
    return head + token * max(1, (length - len(head)) // len(token))


def best_time(run: Callable[[str], object], line: str, repeat: int) -> float:
    """The best of `repeat` timings of `run(line)`, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run(line)
        best = min(best, time.perf_counter() - start)
    return best


def worst_lines(all_probes: list[Probe], length: int = MAX_RULE_INPUT, keep: int = 200) -> list[Timing]:
    """The slowest (probe, input) pairs at `length`, slowest first: everything timed once at a quarter of
    the length, then the `keep` slowest again at full length (best of three)."""
    first: list[Timing] = []
    for probe in all_probes:
        for message in probe.messages:
            for cut in _cuts(message):
                for token in probe.tokens:
                    seconds = best_time(probe.run, _line(message, cut, token, length // 4), 1)
                    first.append(Timing(seconds, probe, cut, token, length // 4))
    first.sort(key=lambda t: t.seconds, reverse=True)
    again = [
        Timing(best_time(t.probe.run, _line(m, t.cut, t.token, length), 3), t.probe, t.cut, t.token, length)
        for t in first[:keep]
        for m in t.probe.messages[:1]
    ]
    return sorted(again, key=lambda t: t.seconds, reverse=True)
