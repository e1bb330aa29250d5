"""`shipper search` (KQL against what was indexed: Discover from the shell) and `shipper grep` (the same KQL
over local logs, no cluster): one query language for the shell and Kibana."""

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
    from shipper.kql.ast import Node


class SearchFormat(StrEnum):
    ndjson = "ndjson"
    table = "table"


QueryArgument = Annotated[str, typer.Argument(help="A KQL query, as typed in Kibana's search bar ('' = all).")]


def _parse(query: str) -> Node:
    from shipper.kql.parser import KqlSyntaxError, parse

    try:
        return parse(query)
    except KqlSyntaxError as exc:
        error(str(exc))
        error(f"  {query}")
        error(f"  {' ' * (exc.column - 1)}^")
        raise typer.Exit(EXIT_USAGE) from None


def _print(event: dict[str, Any], how: SearchFormat) -> None:
    if how is SearchFormat.ndjson:
        sys.stdout.buffer.write(orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE))
        return
    stamp = event.get("@timestamp", "")
    dataset = (event.get("event") or {}).get("dataset", "")
    typer.echo(printable(f"{stamp}  {dataset:<22} {event.get('message', '')}"))


def grep(
    query: QueryArgument,
    files: Annotated[list[Path], typer.Argument(help="Log files, directories or globs (.gz too); '-' = stdin.")],
    count: Annotated[bool, typer.Option("--count", "-c", help="Print only how many events match.")] = False,
    output_format: Annotated[
        SearchFormat, typer.Option("--format", help="ndjson (the events) or table (time, dataset, message).")
    ] = SearchFormat.table,
    timezone: TimezoneOption = "local",
    reference_date: ReferenceDateOption = None,
    workers: WorkersOption = 0,
) -> None:
    """Events of local logs that match a KQL query: grep and zgrep with the query an analyst types in Kibana.

    The logs are parsed and joined to their messages as `shipper ingest` does, so a query gives the same
    events here as `shipper search` gives on what ingest indexed. Exit status 0 when something matched, 1
    when nothing did or an input was unreadable, 2 for a syntax error (with its column).
    """
    from shipper.enrich.correlate import JOINED_FIELDS, Correlator
    from shipper.enrich.ecs import complete
    from shipper.kql.evaluate import compile_query, fields_read
    from shipper.kql.prefilter import line_prefilter
    from shipper.kql.types import offline_types
    from shipper.parse.packs import load_packs

    node, types = _parse(query), offline_types()
    matches = compile_query(node, types)
    # What the question reads decides what each line needs: the join to its message and related.* only when
    # the query reads what they add (or free text, or whole events are printed); the answer is the same.
    reads = fields_read(node, types)
    whole = output_format is SearchFormat.ndjson and not count
    derived = reads is None or any(n.startswith(("related.", "ecs.")) for n in reads)
    join = whole or reads is None or derived or bool(reads & JOINED_FIELDS)
    # Without the join each event depends on its line alone: lines that cannot match are not parsed.
    prefilter = None if join else line_prefilter(node, types, load_packs())
    paths, discovered, missing = resolve_inputs(files)
    events, failed = parsed_events(paths, timezone, reference_date, discovered=discovered, workers=workers,
                                   prefilter=prefilter)  # fmt: skip
    correlator = Correlator(load_packs()) if join else None
    found = 0
    try:
        for event in events():
            if correlator is not None:
                correlator.join(event)  # as ingest: delivery lines learn their message's sender and client
            host = event.get("host")
            if isinstance(host, dict) and host.get("hostname"):
                host["name"] = host["hostname"]
            if derived:
                complete(event)
            if matches(event):
                found += 1
                if not count:
                    if not derived:
                        complete(event)
                    _print(event, output_format)
    except BrokenPipeError:
        sys.stderr.close()
        raise typer.Exit(EXIT_OK) from None
    if count:
        typer.echo(str(found))
    for problem in dict.fromkeys(failed):
        error(problem)
    raise typer.Exit(EXIT_FAILED if failed or missing or not found else EXIT_OK)


@with_es_options
def search(
    es_options: EsSettings,
    query: QueryArgument,
    namespace: Annotated[str, typer.Option(help="The data streams' namespace ('*' = all).")] = "*",
    index: Annotated[str | None, typer.Option(help="Another index pattern (default: logs-mail.*-NAMESPACE).")] = None,
    since: Annotated[
        str | None, typer.Option("--from", help="From this time on (ISO 8601 or date math: now-1d).")
    ] = None,
    until: Annotated[str | None, typer.Option("--to", help="Up to this time (ISO 8601 or date math).")] = None,
    count: Annotated[bool, typer.Option("--count", "-c", help="Print only how many documents match.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many documents, newest first.")] = 100,
    explain: Annotated[bool, typer.Option("--explain", help="Print the query DSL; contact nothing.")] = False,
    output_format: Annotated[
        SearchFormat, typer.Option("--format", help="ndjson (the documents) or table (time, dataset, message).")
    ] = SearchFormat.table,
) -> None:
    """Documents that match a KQL query in what shipper indexed: Discover from the shell.

    The query is translated to Elasticsearch's query DSL as Kibana translates it, with the field types of
    the cluster (`_field_caps`), or of shipper's field definition with --explain. Exit status 0 when the
    search ran, 1 when it failed, 2 for a syntax error (with its column).
    """
    from shipper.kql.dsl import to_dsl
    from shipper.kql.types import cluster_types, offline_types

    node = _parse(query)
    pattern = index or f"logs-mail.*-{namespace}"
    if explain:
        typer.echo(orjson.dumps(_with_time(to_dsl(node, offline_types()), since, until),
                                option=orjson.OPT_INDENT_2).decode())  # fmt: skip
        raise typer.Exit(EXIT_OK)
    if not es_options.configured:
        error("give --es (or ES_URL), or --explain to print the query")
        raise typer.Exit(EXIT_USAGE)
    from elasticsearch import ApiError, TransportError

    from shipper.elastic.connection import describe_error

    client = connect(es_options)
    try:
        dsl = _with_time(to_dsl(node, cluster_types(client, pattern)), since, until)
        if count:
            found = client.count(index=pattern, query=dsl, ignore_unavailable=True, allow_no_indices=True)
            typer.echo(str(found["count"]))
            raise typer.Exit(EXIT_OK)
        hits = client.search(index=pattern, query=dsl, size=limit, sort=[{"@timestamp": "desc"}],
                             ignore_unavailable=True, allow_no_indices=True)["hits"]  # fmt: skip
    except (ApiError, TransportError) as exc:
        error(f"search failed: {describe_error(exc)}")
        raise typer.Exit(EXIT_FAILED) from None
    for hit in hits["hits"]:
        _print(hit["_source"], output_format)
    total = hits["total"]
    more = "+" if total.get("relation") == "gte" else ""
    typer.echo(f"{len(hits['hits'])} of {total['value']}{more} document(s) shown", err=True)


def _with_time(dsl: dict[str, Any], since: str | None, until: str | None) -> dict[str, Any]:
    if since is None and until is None:
        return dsl
    bounds = {k: v for k, v in (("gte", since), ("lte", until)) if v is not None}
    return {"bool": {"filter": [dsl, {"range": {"@timestamp": bounds}}]}}


def register(app: typer.Typer) -> None:
    app.command(
        epilog=(
            "Examples:\n\n"
            "  shipper search 'event.category: authentication and event.outcome: failure' --es $ES_URL\n\n"
            "  shipper search 'mail.status: deferred' --from now-1d --count --es $ES_URL\n\n"
            "  shipper search 'source.ip: 192.0.2.0/24 and not user.name: *admin*' --explain"
        )
    )(search)
    app.command(
        epilog=(
            "Examples:\n\n"
            "  shipper grep 'mail.status: deferred' /var/log/mail.log /var/log/mail.log.1.gz\n\n"
            "  shipper grep 'event.outcome: failure and source.ip: 203.0.113.0/24' /var/log/ --count\n\n"
            "  zcat old.gz | shipper grep 'email.from.address: \"alice@example.org\"' - --format ndjson"
        )
    )(grep)
