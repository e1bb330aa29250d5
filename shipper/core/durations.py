"""The one duration syntax of shipper, in the config and on the command line: `90` (seconds), `500ms`,
`30s`, `15m`, `1.5h`, `2d`, and compounds from the largest unit down, `1d2h30m`, `1m30s`."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)")
_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_ORDER = ["d", "h", "m", "s", "ms"]
EXAMPLES = "90, 500ms, 30s, 15m, 1.5h, 2d or 1d2h30m"


def parse_duration(text: str) -> float:
    """Seconds; ValueError naming the syntax for anything else (a unit twice, units out of order, a sign)."""
    value = text.strip()
    try:
        return float(value) if value and value.replace(".", "", 1).isdigit() else _compound(value)
    except ValueError:
        raise ValueError(f"expected a duration such as {EXAMPLES}, got {text!r}") from None


def _compound(value: str) -> float:
    total, position, last = 0.0, 0, -1
    for match in _PART.finditer(value):
        unit = _ORDER.index(match.group(2))
        if match.start() != position or unit <= last:
            raise ValueError(value)
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position, last = match.end(), unit
    if position != len(value) or not value:
        raise ValueError(value)
    return total


def _seconds(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


Seconds = Annotated[float, BeforeValidator(_seconds), Field(gt=0)]


def human_age(seconds: int | None) -> str:
    """`3d04h`, `2h05m`, `7m12s`, `40s`."""
    if seconds is None:
        return "?"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
