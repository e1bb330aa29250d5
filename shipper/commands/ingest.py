"""`shipper ingest`: read inputs to their end and ship every event (Elasticsearch or an NDJSON file)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO, NoReturn, TextIO

import typer

from shipper.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    ByteProgress,
    ReferenceDateOption,
    TimezoneOption,
    connect,
    duration,
    ensure_templates,
    error,
    expand_inputs,
    parse_reference_date,
    stderr,
    with_es_options,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from shipper.elastic.connection import EsSettings
    from shipper.enrich.geoip import GeoIp
    from shipper.outputs.base import Output
    from shipper.pipeline.emit import ParseSettings
    from shipper.pipeline.framing import Line
    from shipper.pipeline.ingest import IngestSummary


@with_es_options
def ingest(
    es_options: EsSettings,
    paths: Annotated[
        list[str] | None, typer.Argument(help="Files, directories or globs (plain, .gz, .bz2, .xz); '-' = stdin.")
    ] = None,
    run_setup_first: Annotated[bool, typer.Option("--setup", help="Install/update templates first.")] = False,
    source: Annotated[
        str | None, typer.Option(help="Use only this pack (e.g. postfix) instead of choosing by program name.")
    ] = None,
    namespace: Annotated[str, typer.Option(help="Data stream namespace: logs-mail.<source>-<namespace>.")] = "default",
    timezone: TimezoneOption = "local",
    reference_date: ReferenceDateOption = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Events per bulk request (at most).")] = 2000,
    batch_mb: Annotated[float, typer.Option(min=0.01, help="Megabytes per bulk request (at most).")] = 8.0,
    retry_for: Annotated[
        float,
        typer.Option(
            parser=duration, metavar="DURATION", help="How long to keep retrying while Elasticsearch makes no progress."
        ),
    ] = "10m",  # type: ignore[assignment]
    output_file: Annotated[
        Path | None,
        typer.Option(
            "--output-file",
            "-o",
            help="Write the events as NDJSON to this file ('-': stdout) instead of Elasticsearch: the same documents"
            " (data_stream, log.offset, enrichment); message documents need an output that replaces by id.",
        ),
    ] = None,
    json_summary: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    with_transactions: Annotated[
        bool,
        typer.Option(
            "--transactions/--no-transactions",
            help="Join lines into message transactions: index them into mail-transactions-<namespace> and give"
            " delivery lines their message's sender and client.",
        ),
    ] = True,
    follow_symlinks: Annotated[
        bool,
        typer.Option(
            "--follow-symlinks",
            help="Follow symbolic links found in directories and globs (to files owned by root or the directory's"
            " owner). Files named on the command line are always read.",
        ),
    ] = False,
    journal: Annotated[
        bool,
        typer.Option(
            "--journal",
            help="Also read the systemd journal (journalctl), once: a backfill. Its entries get"
            " the ids `shipper run`'s journald input gives them.",
        ),
    ] = False,
    journal_directory: Annotated[
        Path | None, typer.Option(help="Another machine's or a container's journal directory (journalctl -D).")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="With --journal: entries from this time on (journalctl --since: '2026-11-28', 'yesterday', '-2h')."
        ),
    ] = None,
    host_name: Annotated[
        str | None,
        typer.Option(
            help="host.name of lines whose header names no host (Exim's and Dovecot's own files). Default: this"
            " machine's name. Lines naming their host get that."
        ),
    ] = None,
    geoip: Annotated[
        list[Path] | None,
        typer.Option(
            "--geoip",
            metavar="MMDB",
            help="A MaxMind-format database (GeoLite2 City, ASN, ...) for source.geo.* and source.as.*; repeat"
            " for City and ASN.",
        ),
    ] = None,
) -> None:
    """Read log files to their end and index every line into Elasticsearch (batch mode, for CI and backfills).

    Events go to data streams logs-mail.<source>-<namespace> with ids derived from each input's first line and
    each line's offset and content, so ingesting the same input again creates no duplicates. Events the
    cluster refuses go, with the error, to logs-mail.deadletter-<namespace>.
    """
    from shipper.core.streams import check_namespace
    from shipper.pipeline.emit import ParseSettings, Pipeline

    try:
        settings = ParseSettings(timezone=timezone, source=source, reference=parse_reference_date(reference_date))
        check_namespace(namespace)
        Pipeline(settings)  # fail now on a bad zone or pack
    except ValueError as exc:
        error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    if not paths and not journal:
        error("name files to read, '-' for stdin, or --journal")
        raise typer.Exit(EXIT_USAGE)
    files, missing, discovered = expand_inputs(paths or [], follow_symlinks)
    for arg in missing:
        error(f"{arg}: no such file (or nothing matched)")
    if not files and not journal:
        raise typer.Exit(EXIT_FAILED)
    lines = _journal(journal_directory, since) if journal else None
    default_host = host_name or socket.gethostname()
    geo = _geoip(geoip)
    if output_file is not None:
        summary = _ingest(files, discovered, follow_symlinks, settings, namespace, _file_output(output_file),
                          with_transactions, default_host, geo, lines)  # fmt: skip
        _report(summary, json_summary, events_on_stdout=str(output_file) == "-")
    client = connect(es_options)
    _ingest_into(client, files, discovered, follow_symlinks, settings, namespace, with_transactions, run_setup_first,
                 batch_size, batch_mb, retry_for, json_summary, default_host, geo, lines)  # fmt: skip


def _geoip(paths: list[Path] | None) -> GeoIp | None:
    if not paths:
        return None
    from shipper.enrich.geoip import GeoIp, GeoIpError

    try:
        return GeoIp(paths)
    except GeoIpError as exc:
        error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None


def _journal(directory: Path | None, since: str | None) -> tuple[bytes, Iterable[list[Line]]]:
    """The journal's entries as lines, with the identity `shipper run` gives them (a journalctl error ends it)."""
    from types import SimpleNamespace

    from shipper.journal.backfill import IDENTITY, JournalError, journal_batches

    def batches() -> Iterator[list[Line]]:
        try:
            yield from journal_batches(SimpleNamespace(directory=directory), since)
        except JournalError as exc:
            error(f"journal: {exc}")
            raise typer.Exit(EXIT_FAILED) from None

    return IDENTITY, batches()


def warn(message: str) -> None:
    stderr().print(f"warning: {message}", markup=False, highlight=False, soft_wrap=True)


def _file_output(path: Path) -> Output:
    from shipper.files import open_append
    from shipper.outputs.ndjson import NdjsonOutput

    if str(path) == "-":
        return NdjsonOutput(sys.stdout.buffer, sync=False, owned=False)
    try:
        return NdjsonOutput(open_append(path), sync=True, owned=True)
    except OSError as exc:
        error(f"{path}: cannot write ({exc.strerror or exc})")
        raise typer.Exit(EXIT_FAILED) from None


def _ingest(
    files: list[Path], discovered: set[Path], follow_symlinks: bool, settings: ParseSettings, namespace: str,
    output: Output, with_transactions: bool, default_host: str | None = None, geo: GeoIp | None = None,
    lines: tuple[bytes, Iterable[list[Line]]] | None = None,
) -> IngestSummary:  # fmt: skip
    from shipper.core.compression import open_binary
    from shipper.pipeline.ingest import ingest_inputs
    from shipper.pipeline.inputs import open_inputs
    from shipper.safeopen import stream_found

    unopened: list[str] = []

    def opener(path: Path) -> BinaryIO:
        return stream_found(str(path), follow_symlinks) if path in discovered else open_binary(path)

    progress = ByteProgress([p for p in files if str(p) != "-"], always=True, label="ingesting")
    try:
        with progress:
            inputs = (
                open_inputs(files, lambda path, message: unopened.append(f"{path}: {message}"), opener)
                if files
                else iter(())
            )
            summary = ingest_inputs(inputs, settings, namespace, output, progress.update, correlate=with_transactions,
                                    default_host=default_host, geoip=geo, lines=lines)  # fmt: skip
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    summary.unreadable[:0] = unopened
    return summary


def _ingest_into(
    client: Any, files: list[Path], discovered: set[Path], follow_symlinks: bool, settings: ParseSettings,
    namespace: str, with_transactions: bool, run_setup_first: bool, batch_size: int, batch_mb: float,
    retry_for: float, json_summary: bool, default_host: str | None = None, geo: GeoIp | None = None,
    lines: tuple[bytes, Iterable[list[Line]]] | None = None,
) -> None:  # fmt: skip
    from elasticsearch import ApiError, AuthorizationException, TransportError

    from shipper.elastic.connection import describe_error
    from shipper.outputs.elasticsearch import BulkSettings, BulkWriter, ElasticsearchOutput

    try:
        ensure_templates(client, run_setup_first, warn)
    except (ApiError, TransportError) as exc:
        error(f"setup failed: {describe_error(exc)}")
        raise typer.Exit(EXIT_FAILED) from None
    bulk = BulkSettings(max_docs=batch_size, max_bytes=int(batch_mb * 1024 * 1024), retry_for=retry_for)
    output = ElasticsearchOutput(BulkWriter(client, bulk, namespace, on_retry=warn))
    try:
        summary = _ingest(files, discovered, follow_symlinks, settings, namespace, output, with_transactions,
                          default_host, geo, lines)  # fmt: skip
        for index in (f"logs-mail.*-{namespace}", f"mail-transactions-{namespace}"):
            try:
                client.indices.refresh(index=index, allow_no_indices=True, ignore_unavailable=True)
            except AuthorizationException:
                warn(f"not allowed to refresh {index}: what was written becomes searchable within a second")
    except (ApiError, TransportError) as exc:
        error(f"ingest failed: {describe_error(exc)}")
        raise typer.Exit(EXIT_FAILED) from None
    _report(summary, json_summary)


def _report(summary: IngestSummary, json_summary: bool, events_on_stdout: bool = False) -> NoReturn:
    for problem in summary.unreadable:
        error(problem)
    for problem in summary.bulk.errors:
        warn(problem)
    if not summary.accounted:
        error("the outcomes do not add up to the lines read: please report this as a bug")
    _print_ingest_summary(summary, json_summary, sys.stderr if events_on_stdout else sys.stdout)
    raise typer.Exit(EXIT_OK if summary.ok else EXIT_FAILED)


def _print_ingest_summary(summary: IngestSummary, as_json: bool, out: TextIO) -> None:
    """The figures, on stdout unless the events went there."""
    bulk = summary.bulk
    figures = {
        "files": summary.files,
        "lines_read": summary.lines,
        "transactions": summary.transactions,
        "transactions_evicted": summary.transactions_evicted,
        "parsed": summary.parsed,
        "generic": summary.generic,
        "unparsed": summary.lines - summary.parsed - summary.generic,
        "indexed": bulk.indexed,
        "already_present": bulk.already_present,
        "dead_lettered": bulk.dead_lettered,
        "failed": bulk.failed,
        "unreadable_inputs": len(summary.unreadable),
        "retries": bulk.retries,
    }
    if as_json:
        import orjson

        out.write(orjson.dumps(figures).decode() + "\n")
        return
    width = max(map(len, figures))
    for name, value in figures.items():
        out.write(f"{name.replace('_', ' '):<{width}}  {value}\n")


def register(app: typer.Typer) -> None:
    app.command(
        epilog=(
            "Examples:\n\n"
            "  shipper ingest samples/ --es http://localhost:9200 --setup\n\n"
            "  shipper ingest '/var/log/mail.log*' --es $ES_URL --namespace prod\n\n"
            "  zcat old/*.gz | shipper ingest - --es $ES_URL --source postfix\n\n"
            "  shipper ingest samples/ -o events.ndjson   # the same documents as NDJSON, no cluster\n\n"
            "  shipper ingest --journal --since yesterday --es $ES_URL   # a journal backfill (systemd hosts)\n\n"
            "Exit status: 0 when every line is in its data stream (indexed or already present), 1 when an input"
            " was unreadable or events were dead-lettered or could not be written, 2 for bad options."
        )
    )(ingest)
