"""Per-rule capture extractors, generated once at compile time.

A generic loop over (group, field, converter) triples was the largest cost left on the parse hot path;
a straight-line function per rule does the same work with no loop, no tuple unpacking and no converter
call for string fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shipper.schema.fields import FieldTypeError

Extractor = Callable[[re.Match[str]], tuple[dict[str, Any], list[str]]]
Convert = Callable[[Any], Any] | None


def build_extractor(groups: tuple[int, ...], targets: tuple[tuple[str, Convert], ...]) -> Extractor:
    """groups[i] is the regex group number holding the value of targets[i] = (field, converter or None)."""
    namespace: dict[str, Any] = {"FieldTypeError": FieldTypeError}
    lines = ["def extract(m):", "    p = {}", "    errors = []"]
    if len(groups) == 1:
        lines.append(f"    g = (m.group({groups[0]}),)")
    elif groups:
        lines.append(f"    g = m.group({', '.join(map(str, groups))})")
    seen: set[str] = set()
    for index, (name, convert) in enumerate(targets):
        condition = f"g[{index}] is not None" + (f" and {name!r} not in p" if name in seen else "")
        seen.add(name)
        lines.append(f"    if {condition}:")
        if convert is None:
            lines.append(f"        p[{name!r}] = g[{index}]")
        else:
            namespace[f"c{index}"] = convert
            lines += [
                "        try:",
                f"            p[{name!r}] = c{index}(g[{index}])",
                "        except FieldTypeError as exc:",
                f"            errors.append({name!r} + ': ' + str(exc))",
            ]
    lines.append("    return p, errors")
    exec(compile("\n".join(lines) + "\n", "<shipper.rule>", "exec"), namespace)
    return namespace["extract"]  # type: ignore[no-any-return]
