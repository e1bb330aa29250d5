"""Help and usage lines in the shape most command-line tools print (click's, Filebeat's): `--limit INTEGER`,
`--format [text|json]`, `Usage: shipper trace [OPTIONS] QUERY [FILES]...`.

Typer 0.2x prints Python type names instead (`<str>`, `<list[Path]>`, `<int range>`) and wraps required
arguments in braces (`{query}`), which reads as an inconsistency next to `[files]`. Typer has no setting for
it, so its two methods that render them are replaced here (tests/commands/test_cli.py checks every
command's help, so a Typer that renames them fails there, not in front of a user)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any, get_args, get_origin

from typer import core

_NAMES = {str: "TEXT", int: "INTEGER", float: "FLOAT", Path: "PATH", bool: "", datetime.datetime: "DATETIME"}


def _name(annotation: Any) -> str:
    if get_origin(annotation) is list:
        return _name(get_args(annotation)[0])
    return _NAMES.get(annotation, getattr(annotation, "__name__", "VALUE").upper())


def _display_type(self: Any, ctx: Any) -> str:
    desc = self.type_descriptor
    if desc.is_choice:
        return "[" + "|".join(str(getattr(c, "value", c)) for c in desc.choices or ()) + "]"
    if desc.is_path:
        return "PATH"
    return _name(desc.annotation)


def _usage_name(self: Any) -> str:
    name = self.display_name_raw.upper()
    name = name if self.required else f"[{name}]"
    return name + ("..." if self.nargs != 1 else "")


def _argument_type(self: Any, ctx: Any) -> None:
    return None  # an argument's help line is its name, as in its usage line


def apply() -> None:
    core._TyperParameter.display_type = _display_type  # type: ignore[method-assign]
    core.TyperArgument._usage_display_name = _usage_name  # type: ignore[method-assign]
    core.TyperArgument.display_type_rich = _argument_type  # type: ignore[method-assign]
    core.TyperArgument._rich_display_name = _usage_name  # type: ignore[method-assign]
