"""`shipper trace`: the whole life of a message, from logs or from Elasticsearch."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from shipper.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    ReferenceDateOption,
    TimezoneOption,
    WorkersOption,
    connect,
    error,
    parsed_events,
    resolve_inputs,
    with_es_options,
)
from shipper.terminal import printable

if TYPE_CHECKING:
    from shipper.elastic.connection import EsSettings


class TraceFormat(StrEnum):
    text = "text"
    json = "json"


@with_es_options
def trace(
    query: Annotated[str, typer.Argument(help="A queue ID, a Message-ID or an address (sender or recipient).")],
    files: Annotated[
        list[Path] | None, typer.Argument(help="Log files in time order (plain, .gz, .bz2, .xz); none: use --es.")
    ] = None,
    namespace: Annotated[str, typer.Option(help="With --es: the data streams' namespace ('*' = all).")] = "*",
    limit: Annotated[int, typer.Option(min=0, help="Show at most this many messages, oldest first (0: all).")] = 100,
    output_format: Annotated[
        TraceFormat, typer.Option("--format", help="text, or json: one message per line, with its lines.")
    ] = TraceFormat.text,
    timezone: TimezoneOption = "local",
    reference_date: ReferenceDateOption = None,
    workers: WorkersOption = 0,
    *,
    es_options: EsSettings,
) -> None:
    """The whole life of a message: every line of every queue ID in its chain, each recipient's fate, and why.

    From log files, or (no files) from Elasticsearch: the message's document in mail-transactions-* and
    its lines in logs-mail.*. Every matching message is shown, oldest first, up to --limit; the count
    of all that match goes to stderr. Exit status 0 when a message was found, 1 when none matched or an
    input was unreadable.
    """
    from shipper.enrich.correlate import Correlator
    from shipper.enrich.trace import from_elasticsearch
    from shipper.enrich.trace import trace as run_trace
    from shipper.parse.packs import load_packs

    wanted = limit or None
    if not files:
        if not es_options.configured:
            error("give log files, or --es (or ES_URL) to trace what was indexed")
            raise typer.Exit(EXIT_USAGE)
        from elasticsearch import ApiError, TransportError

        from shipper.elastic.connection import describe_error

        try:
            total, found_docs = from_elasticsearch(connect(es_options), query, namespace, wanted)
        except (ApiError, TransportError) as exc:
            error(f"search failed: {describe_error(exc)}")
            raise typer.Exit(EXIT_FAILED) from None
        if not found_docs:
            error(f"no message matches {query!r} in mail-transactions-{namespace}")
            raise typer.Exit(EXIT_FAILED)
        _show(found_docs, total, output_format)
        raise typer.Exit(EXIT_OK)
    if any(str(p) == "-" for p in files):
        error("trace reads its files twice: give files, not stdin")
        raise typer.Exit(EXIT_USAGE)
    files, discovered, missing = resolve_inputs(files)
    events, failed = parsed_events(files, timezone, reference_date, discovered=discovered, workers=workers)
    failed += ["an input named nothing"] * bool(missing)
    found = run_trace(query, events, Correlator(load_packs()))
    for problem in dict.fromkeys(failed):
        error(problem)
    if not found:
        error(f"no message matches {query!r}")
        raise typer.Exit(EXIT_FAILED)
    _show([(item.transaction.doc(), item.lines) for item in found[:wanted]], len(found), output_format)
    raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)


def _show(found: list[tuple[dict[str, Any], list[tuple[str, str, str]]]], total: int, how: TraceFormat) -> None:
    from shipper.enrich.trace import render_doc

    shown = f"the first {len(found)} shown (--limit)" if len(found) < total else "all shown"
    typer.echo(f"{total} message(s) match; {shown}", err=True)
    for doc, lines in found:
        if how is TraceFormat.json:
            rows = [{"@timestamp": t, "queue_id": q, "line": line} for t, q, line in lines]
            sys.stdout.buffer.write(orjson.dumps({**doc, "lines": rows}, option=orjson.OPT_APPEND_NEWLINE))
            continue
        for line in render_doc(doc, lines):
            typer.echo(printable(line))
        typer.echo("")


def register(app: typer.Typer) -> None:
    app.command(
        epilog=(
            "Examples:\n\n"
            "  shipper trace 5E6F7A8B90 /var/log/mail.log /var/log/mail.log.1.gz\n\n"
            "  shipper trace alice@example.org /var/log/mail.log*\n\n"
            "  shipper trace alice@example.org --es $ES_URL --limit 0 --format json | jq .mail.status\n\n"
            "  shipper trace '<a1@example.org>' --es https://es.example.com:9200   # what `shipper ingest/run` indexed"
        )
    )(trace)
