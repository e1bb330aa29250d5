"""`shipper parse`: mail logs to ECS events as NDJSON."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shipper.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    ByteProgress,
    TimezoneOption,
    WorkersOption,
    error,
    input_opener,
    parse_reference_date,
    resolve_inputs,
    stderr,
)

if TYPE_CHECKING:
    from shipper.parse.stats import Coverage


def parse(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Log files, directories or globs (plain, .gz, .bz2, .xz); none or '-' reads stdin."),
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Use only this pack (e.g. postfix) instead of choosing by program name.")
    ] = None,
    stats: Annotated[bool, typer.Option("--stats", help="Print per-dataset coverage to stderr at the end.")] = False,
    timezone: TimezoneOption = "local",
    reference_date: Annotated[
        str | None,
        typer.Option(
            help="BSD syslog lines have no year: place them in the 12 months up to this date (YYYY-MM-DD)."
            " Default: each file's mtime, today for stdin."
        ),
    ] = None,
    workers: WorkersOption = 0,
) -> None:
    """Parse mail logs into ECS events: one JSON object per line, in input order (NDJSON).

    Every line gives an event; a multi-line entry (a Zimbra stack trace, an Exim rejectlog entry) is one
    event tagged `multiline`. Lines no rule matches keep their text and carry the tag `unparsed`.
    """
    from shipper.parse.stats import Coverage
    from shipper.pipeline.emit import ParseSettings, Pipeline
    from shipper.pipeline.inputs import open_inputs
    from shipper.pipeline.parallel import parse_inputs, pool_size

    try:
        reference = parse_reference_date(reference_date)
        options = ParseSettings(timezone=timezone, source=source, reference=reference)
        Pipeline(options)  # fail fast on bad packs, source or zone
    except ValueError as exc:  # PackError included
        error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None

    paths, discovered, missing = resolve_inputs(files)  # what named nothing: reported now, exit 1 at the end

    coverage = Coverage()
    failed: list[Path | None] = [None] if missing else []
    out = sys.stdout.buffer
    progress = ByteProgress(paths)

    def on_error(path: Path | None, message: str) -> None:
        error(f"{path or 'stdin'}: {message}")
        failed.append(path)

    try:
        # A stream (stdin) is parsed in-process and each block is flushed at once, so `tail -f |` stays live.
        streaming = not paths or any(str(p) == "-" for p in paths)
        jobs = 1 if streaming else pool_size(workers, paths)
        inputs = open_inputs(paths, on_error, input_opener(discovered))
        with progress:
            for chunk_coverage in parse_inputs(inputs, options, out, jobs, progress.update, streaming, on_error):
                coverage.merge(chunk_coverage)
        out.flush()
    except BrokenPipeError:
        sys.stderr.close()  # a closed pipe (| head) is not an error
        raise typer.Exit(EXIT_OK) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    if stats:
        _print_coverage(coverage)
    raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)


def _print_coverage(coverage: Coverage) -> None:
    """Per dataset, then per program within it: lines a specific rule matched, lines only a catch-all took
    (generic: kept, next to nothing extracted), lines no rule took."""
    from rich.table import Table

    from shipper.parse.stats import Row

    table = Table(title="coverage", title_justify="left")
    for column in ("dataset / program", "lines", "matched", "generic", "unparsed", "matched %"):
        table.add_column(column, justify="left" if column.startswith("dataset") else "right")

    def add(name: str, row: Row, style: str | None = None) -> None:
        figures = (row.lines, row.matched, row.generic, row.unparsed)
        table.add_row(name, *map(str, figures), f"{row.matched_pct:.2f}", style=style)

    programs = coverage.rows(by_program=True)
    for row in coverage.rows():
        add(row.dataset, row, "bold")
        for sub in (p for p in programs if p.dataset == row.dataset):
            add(f"  {sub.program or '(no program)'}", sub)
    rows = coverage.rows()
    total = Row("all", None, *(sum(getattr(r, f) for r in rows) for f in ("lines", "matched", "generic", "unparsed")))
    add("all", total, "bold")
    stderr().print(table)


def register(app: typer.Typer) -> None:
    app.command(
        epilog=(
            "Examples:\n\n"
            "  shipper parse /var/log/mail.log /var/log/mail.log.2.gz > events.ndjson\n\n"
            "  tail -f /var/log/maillog | shipper parse --timezone Europe/Berlin\n\n"
            "  shipper parse samples/postfix/*.log --stats > /dev/null\n\n"
            "  shipper parse --source postfix --workers 0 big.log | jq 'select(.mail.status==\"deferred\")'"
        )
    )(parse)
