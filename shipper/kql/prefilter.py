"""A test on a raw line that every line whose event matches a KQL query passes: `shipper grep` parses only
the lines that pass it, and gives the same answer as parsing them all.

A field gets its value in a few ways, and each tells what the line must hold for the value to be V:
- a pack rule captures it as written (a keyword: the value V itself is in the line);
- a rule sets it to a fixed value, or maps another capture to it (`event.outcome: failure` from
  `status=deferred`): V comes only with a line the rule matched, so the line matches the weaker regex of
  what the rule's regex cannot match without (shipper/parse/literals.py), or for a map from a capture, holds
  the key;
- the reason classifier gives `mail.reason.category`/`.hint`: only with a text one of the literals of a
  reason rule of that category is in.
`process.name` is the program as the line writes it, except the few a log format implies. Fields anything
else writes (the envelope, the route, a pack's defaults, the parser's own `message`, `tags`,
`error.*`; `related.*` and `ecs.*`; what the join to messages adds) give no test: their queries read every
line. So does a negation, a range, free text, an `exists` or a text field's words. The test is searched
case-insensitively, with RE2 (one pass, however many alternatives: Python's `re` took 77 µs a line for
the 142 of `event.outcome: failure`), on ASCII lines only: a line with other characters is parsed
whatever it holds, and without the RE2 wheel there is no test.

Sound only when each line's event depends on that line alone: the caller keeps the whole parse when the
query needs the join to messages (enrich/correlate.py JOINED_FIELDS) or prints whole events.
tests/kql/test_prefilter.py checks, on every sample, that each event passes the test of every query on its
own values.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any

from shipper.kql.ast import And, Is, Node, Or, Value
from shipper.kql.dsl import fields_for, literal
from shipper.kql.evaluate import NUMBERS, value_matches, wildcard_parts
from shipper.kql.types import multi_field_parents
from shipper.parse.envelope import HINT_PROGRAMS
from shipper.parse.literals import any_of, escape, required
from shipper.parse.packs import Expansion, Pack
from shipper.parse.parser import rule_event_fields, rule_set_fields
from shipper.parse.reasons import reason_rules
from shipper.schema.fields import load_fields

# Written by something other than a rule's capture, fixed value or derivation.
MACHINERY = frozenset({"@timestamp", "message", "tags", "event.original", "event.kind", "event.dataset",
                       "event.timezone", "mail.repeat_count"})  # fmt: skip
MACHINERY_PREFIXES = ("log.", "host.", "process.", "error.", "related.", "ecs.", "data_stream.")
REASON_TEXTS = ("mail.response", "mail.reject.reason", "mail.reason.text")  # what the classifier reads
_VERBATIM_TYPES = frozenset({"keyword", "text", "wildcard", "constant_keyword", "date", "flattened", "geo_point"})
_NOT_STRINGS = NUMBERS | {"ip", "boolean", "date", "text"}  # kinds whose match is not string equality

# (data, start, end) -> [(start, end) of the first match in data[start:end], ...]; (-1, -1) for none
Find = Callable[[bytes, int, int], Sequence[tuple[int, int]]]


class LinePrefilter:
    """Each clause (a regex in the syntax RE2 and `re` share) must be found in a line. Lines are searched as
    bytes: the binding re-encodes a str at every call, which made a search from an offset of a block cost
    the block's length."""

    def __init__(self, clauses: tuple[str, ...]) -> None:
        self.clauses = clauses
        self._compiled: list[Find] | None = None
        self._blocks = 0

    def __getstate__(self) -> tuple[str, ...]:  # to a spawned worker: the text, compiled again there
        return self.clauses

    def __setstate__(self, clauses: tuple[str, ...]) -> None:
        self.clauses, self._compiled, self._blocks = clauses, None, 0

    def _finds(self) -> list[Find]:
        """Each clause's search, in the lowercased text: a plain literal's with bytes.find (a fifth of what an
        RE2 search from Python costs), any other with RE2 (case-insensitive all the same)."""
        if self._compiled is None:
            import re2

            options = re2.Options()
            options.case_sensitive = False
            options.max_mem = 64 << 20
            self._compiled = [
                literal_finder(text) if (text := plain_literal(clause)) else finder(re2.compile(clause, options))
                for clause in self.clauses
            ]
        return self._compiled

    def admits(self, text: str) -> bool:
        """Whether one line (or a multi-line event) may match; any text that is not ASCII may."""
        if not text.isascii() or "\n" in text:
            return True
        data = text.lower().encode()
        return all(find(data, 0, len(data))[0][0] >= 0 for find in self._finds())

    def spans(self, data: bytes) -> list[tuple[int, int]] | None:
        """(start, end without newline) of the lines of a block that may match; None if it is not ASCII."""
        if not data.isascii():
            return None
        data = data.lower()  # ASCII: the offsets stay
        finds = self._finds()
        self._blocks += 1
        if len(finds) > 1 and self._blocks & (self._blocks - 1) == 0:
            # The block is scanned for the first clause and each line found is tried on the others: first goes
            # the clause that finds the fewest lines, which depends on the log and can change along it (counted
            # again at the 1st, 2nd, 4th, 8th... block).
            finds.sort(key=lambda find: len(_lines(data, find, [])))
        return _lines(data, finds[0], finds[1:])


def finder(compiled: Any) -> Find:
    """A compiled RE2 regex's search. The binding's `search` costs about 1.2 µs a call in Python (a generator
    and a match object) against 0.5 µs for the RE2 object it wraps, and a block search makes one call per
    line found: the wrapped object is called when the binding has it."""
    import re2

    match = getattr(getattr(compiled, "_regexp", None), "Match", None)
    unanchored = getattr(getattr(re2, "_Anchor", None), "UNANCHORED", None)
    if match is None or unanchored is None:
        return public_finder(compiled)
    return partial(match, unanchored)


_PLAIN = re.compile(r"(?:[a-zA-Z0-9]|\\x[0-7][0-9a-f])+")  # what literals.escape writes, ASCII


def plain_literal(clause: str) -> bytes | None:
    """The text a clause that is one escaped literal stands for, lowercased (None for any other regex)."""
    if _PLAIN.fullmatch(clause) is None:
        return None
    return re.sub(r"\\x([0-9a-f]{2})", lambda hexa: chr(int(hexa[1], 16)), clause).lower().encode("latin-1")


def literal_finder(text: bytes) -> Find:
    size = len(text)

    def find(data: bytes, start: int, end: int) -> Sequence[tuple[int, int]]:
        at = data.find(text, start, end)
        return ((at, at + size),) if at >= 0 else _NONE

    return find


_NONE = ((-1, -1),)


def public_finder(compiled: Any) -> Find:
    search = compiled.search

    def find(data: bytes, start: int, end: int) -> Sequence[tuple[int, int]]:
        found = search(data, start, end)
        return _NONE if found is None else (found.span(),)

    return find


def _lines(data: bytes, first: Find, rest: list[Find]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    position, size = 0, len(data)
    while position < size:
        found = first(data, position, size)[0][0]
        if found < 0:
            break
        start = data.rfind(b"\n", 0, found) + 1  # `.` stops at newlines: the match is in one line
        end = data.find(b"\n", found)
        end = size if end < 0 else end
        for find in rest:  # not all(...): a generator per line found cost a fifth of the search
            if find(data, start, end)[0][0] < 0:
                break
        else:
            out.append((start, end))
        position = end + 1
    return out


@dataclass(frozen=True)
class _RuleView:
    body: str  # the rule's regex, expanded
    captured: frozenset[str]  # fields captured as written (a converter that keeps the text)
    converted: frozenset[str]  # fields captured through a converter
    static: dict[str, Any]  # the rule's `event` values and `set`
    derives: tuple[tuple[Any, frozenset[str]], ...]  # the rule's Derive specs, each with the fields it writes
    derived: frozenset[str]  # fields a derivation writes

    @cached_property
    def needs(self) -> str | None:
        """The weaker regex of what the rule's regex requires (None: nothing), made only for the rules a query
        asks about: making it for all of them took most of grep's start-up."""
        return required(self.body)


_VIEWS: dict[tuple[int, ...], tuple[tuple[_RuleView, ...], frozenset[str]]] = {}


def _views(packs: tuple[Pack, ...]) -> tuple[tuple[_RuleView, ...], frozenset[str]]:
    """Every rule of every pack as the prefilter sees it, and the fields the routes and defaults write."""
    key = tuple(map(id, packs))
    if key not in _VIEWS:
        _VIEWS.clear()  # one set of packs per process, in practice
        _VIEWS[key] = _build_views(packs)
    return _VIEWS[key]


def _build_views(packs: tuple[Pack, ...]) -> tuple[tuple[_RuleView, ...], frozenset[str]]:
    fields = load_fields()
    views: list[_RuleView] = []
    elsewhere: set[str] = set()
    for pack in packs:
        elsewhere |= set(pack.defaults)
        programs = Expansion(pack.patterns, f"{pack.path}: programs")
        programs.expand(pack.programs)
        elsewhere |= set(programs.groups.values())
        for rule in pack.rules:
            exp = Expansion(pack.patterns, f"{pack.path}")
            exp.expand(pack.prefix)
            body = exp.expand(rule.match)
            names = set(exp.groups.values())
            static = {**rule_event_fields(rule), **rule_set_fields(pack, rule)}
            verbatim = {n for n in names if fields[n].type in _VERBATIM_TYPES}
            derived: set[str] = set()
            derives = []
            for spec in rule.derive:
                # a piece of a capture kept as written (one value, not a list's text) is written in the line too
                from_line = spec.source in verbatim and not fields[spec.source].array
                writes = set()
                if spec.pattern is not None:
                    inner = Expansion(pack.patterns, f"{pack.path}")
                    inner.expand(spec.pattern)
                    writes = set(inner.groups.values())
                elif spec.to is not None:
                    writes = {spec.to}
                copy = spec.pattern is None and spec.map is None and spec.findall is None
                derives.append((spec, frozenset(writes)))
                for name in writes:
                    keeps = from_line and (spec.pattern is not None or copy) and fields[name].type in _VERBATIM_TYPES
                    (verbatim if keeps else derived).add(name)
            verbatim -= derived
            converted = frozenset(n for n in names if fields[n].type not in _VERBATIM_TYPES)
            views.append(_RuleView(body, frozenset(verbatim), converted,
                                   static, tuple(derives), frozenset(derived)))  # fmt: skip
    return tuple(views), frozenset(elsewhere)


def line_prefilter(node: Node, types: dict[str, str], packs: tuple[Pack, ...]) -> LinePrefilter | None:
    """The test of `node` (None when the query needs every line, or RE2 is not installed)."""
    if importlib.util.find_spec("re2") is None:
        return None
    clauses = _clauses(node, types, packs)
    if not clauses:
        return None
    prefilter = LinePrefilter(tuple(dict.fromkeys(clauses)))
    try:
        prefilter.admits("")  # compiles it: a test RE2 refuses (too large) is no test
    except Exception:  # re2.error, or whatever else the binding raises
        return None
    return prefilter


def _clauses(node: Node, types: dict[str, str], packs: tuple[Pack, ...]) -> list[str]:
    """Regexes each of which the line must match (none: no test)."""
    if isinstance(node, And):
        return [c for child in node.children for c in _clauses(child, types, packs)]
    if isinstance(node, Or):
        picks = []
        for child in node.children:
            found = _clauses(child, types, packs)
            if not found:
                return []
            picks.append(min(found, key=len))
        return [any_of(picks)]
    if isinstance(node, Is) and node.field is not None and node.value is not None:
        needed = _needed(node.field, node.value, types, packs)
        return [needed] if needed is not None else []
    return []  # Not, Range, Nested, MatchAll, free text, exists


def _needed(name: str, value: Value, types: dict[str, str], packs: tuple[Pack, ...]) -> str | None:
    parents = multi_field_parents()
    alternatives: set[str] = set()
    for field in fields_for(name, types):
        if field in parents:
            return None
        found = _producers(field, value, types.get(field), packs)
        if found is None:
            return None
        alternatives |= found
    if not alternatives:  # nothing writes the field: no line can match (an impossible test would be as right)
        return None
    return any_of(sorted(alternatives))


def _producers(field: str, value: Value, kind: str | None, packs: tuple[Pack, ...]) -> set[str] | None:
    """What a line must hold for `field` to get `value`: the union over everything that can write it."""
    views, elsewhere = _views(packs)
    if field == "process.name" and not any(field in pack.defaults for pack in packs):
        return _program(value, kind, views)
    if field in elsewhere or field in MACHINERY or field.startswith(MACHINERY_PREFIXES):
        return None
    out: set[str] = set()
    written_as_is = _as_written(value) if kind not in _NOT_STRINGS else None
    for view in views:
        if field in view.converted:
            return None
        if field in view.captured:
            if written_as_is is None:
                return None
            out.add(escape(written_as_is))
        if field in view.static and _can_match(view.static[field], value, kind) and not _add(out, view.needs):
            return None
        if field in view.derived and not _derivations(view, field, value, kind, out):
            return None
    if _reason(field):
        if any(t in view.static or t in view.derived for view in views for t in REASON_TEXTS):
            return None  # a text the classifier reads might not be the line's
        for rule in reason_rules():
            gives = rule.category if field == "mail.reason.category" else rule.hint
            if _can_match(gives, value, kind) and not _add(out, required(rule.match)):
                return None
    return out


def _program(value: Value, kind: str | None, views: tuple[_RuleView, ...]) -> set[str] | None:
    """`process.name` is the program as the line writes it (the envelope's, a part of it a route captures,
    the one a multilog or repeated line names), except where a format implies it (HINT_PROGRAMS: ClamAV's,
    qmail's multilog, Kerio's and Zimbra's own logs)."""
    written = _as_written(value) if kind not in _NOT_STRINGS else None
    if written is None or any(_can_match(hint, value, kind) for hint in HINT_PROGRAMS):
        return None
    if any("process.name" in view.static or "process.name" in view.derived for view in views):
        return None
    return {escape(written)}


def _reason(field: str) -> bool:
    return field in ("mail.reason.category", "mail.reason.hint")


def _derivations(view: _RuleView, field: str, value: Value, kind: str | None, out: set[str]) -> bool:
    """Add what a line needs for one of the rule's derivations to write `value` to `field`; False when the
    line needs nothing that can be told."""
    for spec, writes in view.derives:
        if field not in writes:
            continue
        verbatim = spec.source in view.captured and spec.source not in view.static and spec.source not in view.derived
        if spec.map is not None and verbatim:  # a map from a capture: the key is written in the line
            for key, mapped in spec.map.items():
                if _can_match(mapped, value, kind) and (key in ("", None) or not _add(out, escape(str(key)))):
                    return False
            continue
        if not _add(out, view.needs):  # anything else: the rule matched
            return False
    return True


def _add(out: set[str], regex: str | None) -> bool:
    if regex is None:
        return False
    out.add(regex)
    return True


def _can_match(actual: Any, value: Value, kind: str | None) -> bool:
    values = actual if isinstance(actual, list) else [actual]
    return any(v is not None and value_matches(v, value, kind) for v in values)


def _as_written(value: Value) -> str | None:
    """The longest stretch of the value that a field equal to it (or matching its wildcards) holds as is."""
    if not value.wildcard:
        text = value.text if value.quoted else literal(value)
        return text or None
    parts = wildcard_parts(value.text)
    longest = max(parts, key=len)
    return longest or None
