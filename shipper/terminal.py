"""Text from strangers (log lines, senders, remote replies) on a person's terminal: control characters
shown as escapes, so an ESC sequence in a reply cannot recolour, retitle or rewrite the admin's screen.
Markup is never interpreted either: print through `rich.text.Text` or with markup off."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """`text` with C0/C1 control characters (tab excepted) as `\\xNN` / `\\uNNNN` escapes."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text) if _CONTROL.search(text) else text
