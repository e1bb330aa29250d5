"""`shipper.1`, the manual page, rendered from the command line's own help (every command, its usage, its
options, its examples), so it cannot drift from `shipper CMD -h`: `shipper manpage > docs/shipper.1`, and a
test keeps the committed page equal to a fresh rendering."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer


def _roff(text: str) -> str:
    """Text as roff reads it literally: backslashes escaped, a leading `.` or `'` protected."""
    lines = []
    for line in text.replace("\\", "\\e").splitlines():
        lines.append("\\&" + line if line.startswith((".", "'")) else line)
    return "\n".join(lines)


def _commands(group: Any, ctx: Any, prefix: str) -> Iterator[tuple[str, Any, Any]]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        sub = type(ctx)(command, info_name=name, parent=ctx)
        if hasattr(command, "list_commands"):
            yield from _commands(command, sub, f"{prefix} {name}")
        else:
            yield f"{prefix} {name}", command, sub


def render(app: typer.Typer, version: str) -> str:
    root = typer.main.get_command(app)
    ctx = typer.Context(root, info_name="shipper")
    out = [
        f'.TH SHIPPER 1 "" "shipper {version}" "User Commands"',
        ".SH NAME",
        "shipper \\- mail-server logs and mail queues into the Elastic Stack",
        ".SH SYNOPSIS",
        ".B shipper",
        "\\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGS\\fR]...",
        ".SH DESCRIPTION",
        _roff(root.help or ""),
        "Every command takes \\fB\\-h\\fR/\\fB\\-\\-help\\fR. Exit status: 0 success, 1 failure (an input, the"
        " output or the queue could not be used), 2 a usage or configuration mistake.",
        ".SH COMMANDS",
    ]
    for path, command, sub in _commands(root, ctx, "shipper"):
        out += [
            f".SS {path.removeprefix('shipper ')}",
            ".B " + path,
            _roff(" ".join(command.collect_usage_pieces(sub))),
        ]
        out += [".PP", _roff(command.help or "")]
        records = [r for p in command.get_params(sub) if (r := p.get_help_record(sub))]
        for names, text in records:
            out += [".TP", f"\\fB{_roff(names)}\\fR", _roff(text)]
        if command.epilog:
            out += [".PP", ".nf", _roff(command.epilog), ".fi"]
    out += [".SH SEE ALSO", "The documentation in docs/ of the source: run.md, queue.md, report.md,"
            " elasticsearch.md, fields.md, security.md."]  # fmt: skip
    return "\n".join(out) + "\n"
