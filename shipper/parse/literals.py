"""What a regex cannot match without: a weaker regex of the literal text it requires, in order. Every text
the original matches (anywhere in it) also matches the weaker one, searched case-insensitively; the
weaker one is plain enough for RE2 to search in one pass. `shipper grep` skips the lines that fail it
before parsing them (shipper/kql/prefilter.py), as RE2's FilteredRE2 and codesearch's trigram index do.

Read from the parse tree of Python's own regex compiler, so the tree is the one the parser runs: a
sequence needs its items in order (`a.*b`); an alternation one of its branches (nothing when a branch
needs nothing); a repeat its body when it must occur at least once. Look-arounds may see text that later
items match, so they add nothing to the order; neither do classes, `.`, anchors or back-references, which
end a run of literal characters. Non-ASCII literals are left out: case-insensitive matching can pair them
with ASCII letters (the Kelvin sign with `k`).
"""

from __future__ import annotations

import re

# No public API gives the tree the `re` module compiles; `re._parser` is its parser (sre_parse before 3.11).
# tests/parse/test_literals.py checks the result against every pack rule's own examples.
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any

_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT}
GAP = ".*"  # what may lie between two required pieces (searched with `.` matching newlines too)


def required(pattern: str) -> str | None:
    """A regex every text `pattern` matches also matches (searched, case-insensitively); None when nothing
    is required."""
    try:
        tree = _parser.parse(pattern)
    except (re.error, RecursionError):
        return None
    return _sequence(list(tree)) or None


def escape(text: str) -> str:
    """A literal in the syntax RE2 and Python's `re` share (letters, digits and hex escapes only)."""
    return "".join(c if c.isascii() and c.isalnum() else f"\\x{ord(c):02x}" for c in text)


def _sequence(items: list[tuple[Any, Any]]) -> str:
    pieces: list[str] = []
    run: list[str] = []
    for op, arg in items:
        if op is sre.LITERAL and chr(arg).isascii():
            run.append(chr(arg))
            continue
        if run:
            pieces.append(escape("".join(run)))
            run = []
        found = _item(op, arg)
        if found:
            pieces.append(found)
    if run:
        pieces.append(escape("".join(run)))
    return GAP.join(pieces)


def _item(op: Any, arg: Any) -> str:
    if op is sre.SUBPATTERN:  # (group, flags added, flags removed, body)
        return _sequence(list(arg[3]))
    if op is sre.ATOMIC_GROUP:
        return _sequence(list(arg))
    if op in _REPEATS:
        low, _, body = arg
        return _sequence(list(body)) if low >= 1 else ""
    if op is sre.BRANCH:
        branches = [_sequence(list(branch)) for branch in arg[1]]
        if not all(branches):
            return ""
        return any_of(branches)
    return ""


def any_of(regexes: list[str]) -> str:
    unique = sorted(set(regexes))
    return unique[0] if len(unique) == 1 else "(?:" + "|".join(unique) + ")"
