"""`shipper fields`: the field reference."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from shipper.commands.common import EXIT_USAGE, error


def fields(
    format: Annotated[str, typer.Option("--format", help="markdown or json")] = "markdown",
) -> None:
    """Print the field reference: every field shipper emits, its type and meaning."""
    import orjson

    from shipper.schema.fields import load_fields, render_markdown
    from shipper.schema.mappings import queue_fields, transaction_fields

    if format == "markdown":
        typer.echo(render_markdown(transactions=transaction_fields(), queue=queue_fields()), nl=False)
    elif format == "json":
        defs = [f.model_dump() for f in load_fields().values()]
        sys.stdout.buffer.write(orjson.dumps(defs, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        error(f"--format: expected markdown or json, got {format!r}")
        raise typer.Exit(EXIT_USAGE)


def register(app: typer.Typer) -> None:
    app.command(epilog="Example:\n\n  shipper fields --format markdown > docs/fields.md")(fields)
