"""`shipper transactions`: one document per message."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from shipper.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    MaxOpenOption,
    ReferenceDateOption,
    TimezoneOption,
    TtlOption,
    WorkersOption,
    error,
    note_evicted,
    parsed_events,
    resolve_inputs,
)


def transactions(
    files: Annotated[
        list[Path],
        typer.Argument(help="Log files in time order, directories or globs (plain, .gz, .bz2, .xz); '-' = stdin."),
    ],
    timezone: TimezoneOption = "local",
    reference_date: ReferenceDateOption = None,
    workers: WorkersOption = 0,
    ttl: TtlOption = "6d",  # type: ignore[assignment]
    max_open: MaxOpenOption = 1_000_000,
) -> None:
    """One JSON document per message: every queue ID of its chain, sender, each recipient's fate, deferrals.

    Lines are joined by host and queue ID, across content-filter hops and into bounce notifications
    (linked to their parent). Messages still open at the end of the input are printed last, tagged
    `incomplete`.
    """
    import orjson

    from shipper.enrich.correlate import Correlator
    from shipper.parse.packs import load_packs

    files, discovered, missing = resolve_inputs(files)
    events, failed = parsed_events(files, timezone, reference_date, discovered=discovered, workers=workers)
    failed += ["an input named nothing"] * bool(missing)
    correlator = Correlator(load_packs(), ttl=ttl, max_open=max_open)
    out = sys.stdout.buffer
    try:
        for event in events():
            for tx in correlator.feed(event):
                out.write(orjson.dumps(tx.doc(), option=orjson.OPT_APPEND_NEWLINE))
        for tx in correlator.finish():
            out.write(orjson.dumps(tx.doc(), option=orjson.OPT_APPEND_NEWLINE))
        out.flush()
    except BrokenPipeError:
        sys.stderr.close()
        raise typer.Exit(EXIT_OK) from None
    note_evicted(correlator)
    for problem in failed:
        error(problem)
    raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command(
        epilog=(
            "Examples:\n\n"
            "  shipper transactions /var/log/mail.log /var/log/mail.log.1.gz > transactions.ndjson\n\n"
            "  shipper transactions samples/postfix/mail.log | jq 'select(.mail.status != \"sent\")'"
        )
    )(transactions)
