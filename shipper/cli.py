"""The `shipper` command line."""

from __future__ import annotations

import contextlib
import errno
import functools
import inspect
import stat
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import date
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO

import typer

from shipper import __version__
from shipper.files import write_new
from shipper.terminal import printable

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

app = typer.Typer(
    name="shipper",
    help="Mail-server logs and mail queues into the Elastic Stack.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@cache
def _stderr() -> Console:
    """rich is imported on first use: it is a sixth of start-up, and most runs print nothing to stderr."""
    from rich.console import Console

    return Console(stderr=True)


EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _error(message: str) -> None:
    """One error line on stderr, never wrapped or marked up (file names may contain brackets)."""
    _stderr().print("[red]error:[/] ", end="", markup=True)
    _stderr().print(message, markup=False, highlight=False, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"shipper {__version__}")
        raise typer.Exit()


TimezoneOption = Annotated[
    str, typer.Option(help="Zone for timestamps that carry none: 'local', 'UTC' or an IANA name.")
]
ReferenceDateOption = Annotated[
    str | None, typer.Option(help="Place year-less timestamps in the 12 months up to this date (YYYY-MM-DD).")
]
MaxOpenOption = Annotated[
    int,
    typer.Option(
        min=1, help="Messages held open at most; past that the least recently active is emitted as incomplete."
    ),
]


def _note_evicted(correlator: Any) -> None:
    """Messages given up at the cap were cut in two: say so, and how to keep them whole."""
    if correlator.evicted:
        _stderr().print(
            f"warning: {correlator.evicted} open message(s) given up (cap {correlator.max_open} or ttl reached), "
            "emitted as incomplete; raise --max-open or --ttl-hours to keep them whole",
            markup=False, highlight=False, soft_wrap=True,
        )  # fmt: skip


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Mail-server logs and mail queues into the Elastic Stack."""


@app.command(
    epilog=(
        "Examples:\n\n"
        "  shipper parse /var/log/mail.log /var/log/mail.log.2.gz > events.ndjson\n\n"
        "  tail -f /var/log/maillog | shipper parse --timezone Europe/Berlin\n\n"
        "  shipper parse samples/postfix/*.log --stats > /dev/null\n\n"
        "  shipper parse --source postfix --workers 0 big.log | jq 'select(.mail.status==\"deferred\")'"
    )
)
def parse(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Log files (plain, .gz, .bz2, .xz); none or '-' reads stdin.")
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
    workers: Annotated[
        int, typer.Option("--workers", "-j", help="Parallel parser processes for files; 0 = one per core. Stdin: 1.")
    ] = 1,
) -> None:
    """Parse mail logs into ECS events: one JSON object per line, in input order (NDJSON).

    Every line gives an event; a multi-line entry (a Zimbra stack trace, an Exim rejectlog entry) is one
    event tagged `multiline`. Lines no rule matches keep their text and carry the tag `unparsed`.
    """
    from shipper.parse.batch import ParseOptions, default_workers, parse_inputs
    from shipper.parse.parser import Parser
    from shipper.parse.reader import open_inputs
    from shipper.parse.stats import Coverage

    try:
        reference = _reference(reference_date)
        Parser(timezone=timezone, source=source)  # fail fast on bad packs, source or zone
    except ValueError as exc:  # PackError included
        _error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None

    paths = list(files or [])
    problems = {p: problem for p in paths if str(p) != "-" and (problem := _input_problem(p))}
    for path, problem in problems.items():
        _error(f"{path}: {problem}")
    missing = list(problems)
    paths = [p for p in paths if p not in problems]
    if missing and not paths:
        raise typer.Exit(EXIT_FAILED)

    options = ParseOptions(timezone=timezone, source=source, reference=reference)
    coverage = Coverage()
    failed: list[Path | None] = list(missing)
    out = sys.stdout.buffer
    progress = _ByteProgress(paths)

    def on_error(path: Path | None, message: str) -> None:
        _error(f"{path or 'stdin'}: {message}")
        failed.append(path)

    try:
        # A stream (stdin) is parsed in-process and each block is flushed at once, so `tail -f |` stays live.
        streaming = not paths or any(str(p) == "-" for p in paths)
        jobs = 1 if streaming else (workers or default_workers())
        inputs = open_inputs(paths, on_error)
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


NO_SUCH_FILE = "no such file"
IS_A_DIRECTORY = "is a directory (name the files, e.g. dir/*.log)"


def _input_problem(path: Path) -> str | None:
    """Why `path` cannot be read as a log file, or None. (Path.exists and is_file raise on EACCES.)"""
    try:
        st = path.stat()
    except FileNotFoundError:
        return NO_SUCH_FILE
    except OSError as exc:
        return f"cannot read ({exc.strerror or exc})"
    return IS_A_DIRECTORY if stat.S_ISDIR(st.st_mode) else None


class _ByteProgress:
    """One bar over all input files by bytes read (compressed bytes for compressed files), on stderr, shown
    only when stderr is a terminal and (unless `always`) stdout is not; rich is imported only then."""

    def __init__(self, paths: list[Path], always: bool = False, label: str = "parsing") -> None:
        self.offsets: dict[Path, int] = {}  # bytes of the files before each one
        total = 0
        for path in paths:
            if _input_problem(path) is None:
                self.offsets.setdefault(path, total)
                total += path.stat().st_size
        self.bar: Progress | None = None
        if self.offsets and sys.stderr.isatty() and (always or not sys.stdout.isatty()):
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                console=_stderr(), transient=True,
            )  # fmt: skip
            self.task = self.bar.add_task(label, total=total or None)

    def update(self, path: Path | None, stream: BinaryIO) -> None:
        if self.bar is None or path not in self.offsets:
            return
        raw = getattr(stream, "fileobj", None) or getattr(stream, "_fp", None) or stream
        with contextlib.suppress(OSError, ValueError, AttributeError):
            self.bar.update(self.task, completed=self.offsets[path] + raw.tell())

    def __enter__(self) -> _ByteProgress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _reference(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--reference-date: expected YYYY-MM-DD, got {text!r}") from None


def _print_coverage(coverage: object) -> None:
    from shipper.parse.stats import Coverage

    assert isinstance(coverage, Coverage)
    from rich.table import Table

    table = Table(title="coverage", title_justify="left")
    for column in ("dataset", "lines", "matched", "unparsed", "matched %"):
        table.add_column(column, justify="left" if column == "dataset" else "right")
    for dataset, lines, matched, unparsed, pct in coverage.rows():
        table.add_row(dataset, str(lines), str(matched), str(unparsed), f"{pct:.2f}")
    lines = coverage.total
    matched = sum(coverage.matched.values())
    table.add_row(
        "all", str(lines), str(matched), str(lines - matched), f"{100.0 * matched / lines if lines else 0:.2f}"
    )
    _stderr().print(table)


@app.command("check-patterns", epilog="Example:\n\n  shipper check-patterns")
def check_patterns(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List every pack and rule count.")] = False,
) -> None:
    """Load every pattern pack, compile every rule and run each rule's example lines as tests."""
    from shipper.parse.examples import check_examples
    from shipper.parse.packs import PackError, load_packs

    try:
        packs = load_packs()
        count, failures = check_examples(packs)
    except PackError as exc:
        _error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    if verbose:
        for pack in packs:
            typer.echo(f"{pack.source}: {len(pack.rules)} rules ({pack.path})")
    for failure in failures:
        typer.echo(f"FAIL {failure.pack}/{failure.rule}: {failure.problem}\n     {failure.line}")
    rules = sum(len(p.rules) for p in packs)
    typer.echo(
        f"{len(packs)} packs, {rules} rules, {count} examples: {count - len(failures)} passed, {len(failures)} failed"
    )
    raise typer.Exit(EXIT_FAILED if failures else EXIT_OK)


@app.command(epilog="Example:\n\n  shipper fields --format markdown > docs/fields.md")
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
        _error(f"--format: expected markdown or json, got {format!r}")
        raise typer.Exit(EXIT_USAGE)


# Options of every command that talks to Elasticsearch, added to its signature by `@_with_es_options`.
# Secrets only from files or the environment, never as option values (`ps` would show them).
_ES_OPTIONS: dict[str, tuple[object, object]] = {
    "es": (
        Annotated[
            list[str] | None,
            typer.Option("--es", envvar="ES_URL", help="Elasticsearch URL (repeat for several nodes). Env: ES_URL."),
        ],
        None,
    ),
    "cloud_id": (Annotated[str | None, typer.Option(help="Elastic Cloud id (env: ES_CLOUD_ID).")], None),
    "es_user": (
        Annotated[str | None, typer.Option(help="Basic-auth user (env: ES_USERNAME); password from ES_PASSWORD.")],
        None,
    ),
    "es_password_file": (Annotated[Path | None, typer.Option(help="File holding the password.")], None),
    "es_api_key_file": (
        Annotated[Path | None, typer.Option(help="File holding an API key (or env ES_API_KEY).")],
        None,
    ),
    "es_bearer_token_file": (
        Annotated[Path | None, typer.Option(help="File holding a bearer token (or env ES_BEARER_TOKEN).")],
        None,
    ),
    "ca_file": (Annotated[Path | None, typer.Option(help="CA certificate(s) to trust (PEM).")], None),
    "fingerprint": (
        Annotated[
            str | None,
            typer.Option(
                help="Pin the server by SHA-256 certificate fingerprint instead of CA verification: the server's own"
                " certificate (Python 3.13+: or any in its chain, e.g. the CA's)."
            ),
        ],
        None,
    ),
    "insecure": (
        Annotated[bool, typer.Option("--insecure", help="Do not verify TLS certificates (not for production).")],
        False,
    ),
}


def _with_es_options(command: Callable[..., None]) -> Callable[..., None]:
    """Add the connection options to a command; it receives them as one dict, `es_options`."""
    signature = inspect.signature(command, eval_str=True)
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
        for name, (annotation, default) in _ES_OPTIONS.items()
    ]
    own = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in signature.parameters.values() if p.name != "es_options"
    ]

    context = inspect.Parameter("_es_context", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)

    @functools.wraps(command)
    def wrapper(**kwargs: object) -> None:
        es_options = {name: kwargs.pop(name) for name in _ES_OPTIONS}
        _refuse_credentials_in_arguments(es_options, kwargs.pop("_es_context"))
        command(es_options=es_options, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=[*own, *extra, context])  # type: ignore[attr-defined]
    return wrapper


def _refuse_credentials_in_arguments(es_options: dict[str, object], context: typer.Context) -> None:
    """`--es https://user:pass@host` would show the password to every user of the machine in `ps`."""
    from shipper.elastic.connection import has_credentials

    source = context.get_parameter_source("es")
    if source is None or source.name != "COMMANDLINE":
        return  # ES_URL from the environment is fine: only its owner and root can read it
    if any(has_credentials(url) for url in es_options["es"] or []):  # type: ignore[attr-defined]
        _error(
            "--es: a URL holding credentials is visible to every user in `ps`; put it in ES_URL, or give the user "
            "with --es-user and the password in ES_PASSWORD or --es-password-file"
        )
        raise typer.Exit(EXIT_USAGE)


def _es_configured(es_options: dict[str, object]) -> bool:
    """Whether the command was given a cluster (--es/ES_URL or --cloud-id)."""
    return bool(es_options["es"] or es_options["cloud_id"])


def _connect(es_options: dict[str, object]):  # -> Elasticsearch, imported lazily
    """A client that has answered a health request, or exit with a message that names no secret."""
    from elasticsearch import ApiError, AuthorizationException, TransportError

    from shipper.elastic.connection import ConnectionSettingsError, EsConnection, describe_error

    o = es_options
    try:
        connection = EsConnection.from_options(
            o["es"] or [], o["cloud_id"], o["es_user"], o["es_password_file"], o["es_api_key_file"],  # type: ignore[arg-type]
            o["es_bearer_token_file"], o["ca_file"], o["fingerprint"], o["insecure"],  # type: ignore[arg-type]
        )  # fmt: skip
    except ConnectionSettingsError as exc:
        _error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    if not connection.verify_certs:
        _stderr().print("warning: TLS certificate verification is OFF (--insecure)", markup=False, highlight=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # said once above, in our words
        client = connection.client()
    try:
        client.cluster.health(timeout="10s")
    except AuthorizationException:
        pass  # authenticated; a writer-only API key may lack the monitor privilege, and needs no more
    except (ApiError, TransportError) as exc:
        hint = ""
        if "Fingerprints did not match" in str(exc) and sys.version_info < (3, 13):
            hint = (
                f" (on Python {sys.version_info.major}.{sys.version_info.minor} only the server's own certificate"
                " can be pinned, not its CA's: give the server certificate's SHA-256 fingerprint, or --ca-file)"
            )
        _error(f"cannot use Elasticsearch at {connection.describe()}: {describe_error(exc)}{hint}")
        raise typer.Exit(EXIT_FAILED) from None
    return client


def _print_setup(report: object, check: bool) -> None:
    from shipper.elastic.setup import SetupReport

    assert isinstance(report, SetupReport)
    for note in report.notes:
        _stderr().print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    for kind, name, state in report.results:
        typer.echo(f"{state:<10} {kind:<10} {name}")
    if not check and report.changed:
        typer.echo("Existing data streams use the new mappings from their next rollover.")


def _ages(rollover_age: str, rollover_size: str, delete_after: str):  # -> LifecycleAges
    from shipper.elastic.templates import LifecycleAges

    return LifecycleAges(rollover_age, rollover_size, None if delete_after == "never" else delete_after)


RolloverAgeOption = Annotated[str, typer.Option(help="ILM: roll a data stream's write index over at this age.")]
RolloverSizeOption = Annotated[str, typer.Option(help="ILM: ... or at this primary shard size.")]
DeleteAfterOption = Annotated[
    str, typer.Option(help="ILM: delete indices this long after rollover ('never' keeps them).")
]


@app.command(
    epilog=(
        "Examples:\n\n"
        "  shipper setup --es http://localhost:9200\n\n"
        "  ES_API_KEY=... shipper setup --es https://es.example.net:9200 --delete-after 365d\n\n"
        "  shipper setup --es $ES_URL --check   # exit 1 if anything differs from this version's templates"
    )
)
@_with_es_options
def setup(
    es_options: dict[str, object],
    check: Annotated[bool, typer.Option("--check", help="Only report drift; exit 1 if anything differs.")] = False,
    rollover_age: RolloverAgeOption = "7d",
    rollover_size: RolloverSizeOption = "50gb",
    delete_after: DeleteAfterOption = "180d",
) -> None:
    """Install or update shipper's ILM policy, component and index templates (idempotent).

    Adapts to the cluster: without ILM the templates carry no lifecycle; field types a cluster cannot map
    (match_only_text, wildcard, constant_keyword) fall back to text/keyword, and a note says so.
    """
    from elasticsearch import ApiError, TransportError

    from shipper.elastic.connection import describe_error
    from shipper.elastic.setup import run_setup

    client = _connect(es_options)
    try:
        report = run_setup(client, _ages(rollover_age, rollover_size, delete_after), check_only=check)
    except (ApiError, TransportError) as exc:
        _error(f"setup failed: {describe_error(exc)}")
        raise typer.Exit(EXIT_FAILED) from None
    _print_setup(report, check)
    raise typer.Exit(EXIT_FAILED if check and report.drift else EXIT_OK)


NOT_LOGS = {".md", ".json", ".ndjson", ".yml", ".yaml"}


def _expand(paths: list[str], follow_symlinks: bool = False) -> tuple[list[Path], list[str], set[Path]]:
    """Files from paths, globs (expanded here when the shell did not) and directories (walked, skipping
    dot-files and documentation/data files); the arguments that matched nothing; and which files were found
    (by a glob or a walk) rather than named: those are opened under the symbolic-link policy
    (shipper/safeopen.py), and a link refused by it is skipped with a warning."""
    import glob

    from shipper.safeopen import check_found

    found: list[Path] = []
    missing: list[str] = []
    discovered: set[Path] = set()
    for arg in paths:
        if arg == "-":
            found.append(Path("-"))
            continue
        named = not glob.has_magic(arg)
        problem = _input_problem(Path(arg)) if named else None
        if named and problem == NO_SUCH_FILE:
            missing.append(arg)
            continue
        if named and problem != IS_A_DIRECTORY:  # an unreadable one is reported by name when it is opened
            found.append(Path(arg))
            continue
        matches = [arg] if named else sorted(glob.glob(arg, recursive=True))
        candidates: list[Path] = []
        for match in matches:
            path = Path(match)
            if path.is_dir() and (named or not path.is_symlink()):
                candidates += sorted(
                    p for p in path.rglob("*")
                    if (p.is_file() or p.is_symlink()) and p.suffix not in NOT_LOGS
                    and not any(part.startswith(".") for part in p.relative_to(path).parts)
                )  # fmt: skip
            elif path.is_file() or path.is_symlink():
                candidates.append(path)
        for path in candidates:
            refusal = check_found(str(path), follow_symlinks)
            if refusal is not None:
                _stderr().print(f"warning: skipped {refusal}", markup=False, highlight=False, soft_wrap=True)
                continue
            found.append(path)
            discovered.add(path)
        if not candidates:
            missing.append(arg)
    return found, missing, discovered


@app.command(
    epilog=(
        "Examples:\n\n"
        "  shipper ingest samples/ --es http://localhost:9200 --setup\n\n"
        "  shipper ingest '/var/log/mail.log*' --es $ES_URL --namespace prod\n\n"
        "  zcat old/*.gz | shipper ingest - --es $ES_URL --source postfix\n\n"
        "Exit status: 0 when every line is in its data stream (indexed or already present), 1 when an input"
        " was unreadable or events were dead-lettered or could not be written, 2 for bad options."
    )
)
@_with_es_options
def ingest(
    paths: Annotated[
        list[str], typer.Argument(help="Files, directories or globs (plain, .gz, .bz2, .xz); '-' = stdin.")
    ],
    es_options: dict[str, object],
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
        float, typer.Option(min=0, help="Seconds to keep retrying while Elasticsearch makes no progress.")
    ] = 600.0,
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
) -> None:
    """Read log files to their end and index every line into Elasticsearch (batch mode, for CI and backfills).

    Events go to data streams logs-mail.<source>-<namespace> with ids derived from each input's first line and
    each line's offset and content, so ingesting the same input again creates no duplicates. Events the
    cluster refuses go, with the error, to logs-mail.deadletter-<namespace>.
    """
    from elasticsearch import ApiError, AuthorizationException, TransportError

    from shipper.elastic.connection import describe_error
    from shipper.ingest import check_namespace, ingest_inputs
    from shipper.outputs.elasticsearch import BulkSettings, BulkWriter, ElasticsearchOutput
    from shipper.parse.batch import ParseOptions
    from shipper.parse.parser import Parser
    from shipper.parse.reader import open_binary, open_inputs
    from shipper.safeopen import stream_found

    try:
        reference = _reference(reference_date)
        check_namespace(namespace)
        Parser(timezone=timezone, source=source)
    except ValueError as exc:
        _error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    files, missing, discovered = _expand(paths, follow_symlinks)
    for arg in missing:
        _error(f"{arg}: no such file (or nothing matched)")
    if not files:
        raise typer.Exit(EXIT_FAILED)
    client = _connect(es_options)

    def warn(message: str) -> None:
        _stderr().print(f"warning: {message}", markup=False, highlight=False, soft_wrap=True)

    try:
        _ensure_templates(client, run_setup_first, warn)
    except (ApiError, TransportError) as exc:
        _error(f"setup failed: {describe_error(exc)}")
        raise typer.Exit(EXIT_FAILED) from None

    settings = BulkSettings(max_docs=batch_size, max_bytes=int(batch_mb * 1024 * 1024), retry_for=retry_for)
    output = ElasticsearchOutput(BulkWriter(client, settings, namespace, on_retry=warn))
    options = ParseOptions(timezone=timezone, source=source, reference=reference)
    unopened: list[str] = []
    progress = _ByteProgress([p for p in files if str(p) != "-"], always=True, label="ingesting")
    try:
        with progress:
            summary = ingest_inputs(
                open_inputs(files, lambda path, message: unopened.append(f"{path}: {message}"),
                            lambda path: stream_found(str(path), follow_symlinks) if path in discovered
                            else open_binary(path)),
                options, namespace, output, progress.update, correlate=with_transactions,
            )  # fmt: skip
        for index in (f"logs-mail.*-{namespace}", f"mail-transactions-{namespace}"):
            try:
                client.indices.refresh(index=index, allow_no_indices=True, ignore_unavailable=True)
            except AuthorizationException:
                warn(f"not allowed to refresh {index}: what was written becomes searchable within a second")
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except (ApiError, TransportError) as exc:
        _error(f"ingest failed: {describe_error(exc)}")
        raise typer.Exit(EXIT_FAILED) from None
    summary.unreadable[:0] = unopened
    for problem in summary.unreadable:
        _error(problem)
    for problem in summary.bulk.errors:
        warn(problem)
    if not summary.accounted:
        _error("the outcomes do not add up to the lines read: please report this as a bug")
    _print_ingest_summary(summary, json_summary)
    raise typer.Exit(EXIT_OK if summary.ok else EXIT_FAILED)


def _ensure_templates(client: object, run_setup_first: bool, warn: Callable[[str], None]) -> None:
    """Install the templates (--setup), or make sure they are there before writing: events that reach
    a data stream without them get mappings that cannot be fixed later."""
    from elasticsearch import AuthorizationException

    from shipper.elastic.setup import run_setup

    if run_setup_first:
        _print_setup(run_setup(client, _ages("7d", "50gb", "180d")), check=False)
        return
    try:
        installed = client.indices.exists_index_template(name="logs-mail")  # type: ignore[attr-defined]
        report = run_setup(client, _ages("7d", "50gb", "180d"), check_only=True) if installed else None
    except AuthorizationException:
        warn("not allowed to read index templates (a writer-only API key?): assuming `shipper setup` was run")
        return
    if report is None:
        _error("the logs-mail index template is not installed: run `shipper setup` first, or pass --setup")
        raise typer.Exit(EXIT_FAILED)
    stale = [name for _, name, state in report.results if state in ("missing", "differs")]
    if stale:
        warn(f"templates differ from this shipper version's ({', '.join(stale)}): run `shipper setup`")


def _print_ingest_summary(summary: object, as_json: bool) -> None:
    from shipper.ingest import IngestSummary

    assert isinstance(summary, IngestSummary)
    bulk = summary.bulk
    figures = {
        "files": summary.files,
        "lines_read": summary.lines,
        "transactions": summary.transactions,
        "transactions_evicted": summary.transactions_evicted,
        "parsed": summary.parsed,
        "unparsed": summary.lines - summary.parsed,
        "indexed": bulk.indexed - summary.transactions,
        "already_present": bulk.already_present,
        "dead_lettered": bulk.dead_lettered,
        "failed": bulk.failed,
        "unreadable_inputs": len(summary.unreadable),
        "retries": bulk.retries,
    }
    if as_json:
        import orjson

        sys.stdout.buffer.write(orjson.dumps(figures) + b"\n")
        return
    width = max(map(len, figures))
    for name, value in figures.items():
        typer.echo(f"{name.replace('_', ' '):<{width}}  {value}")


def _parsed_events(
    files: list[Path], timezone: str, reference_date: str | None, progress: _ByteProgress | None = None
) -> tuple[Callable[[], Iterator[dict[str, Any]]], list[str]]:
    """A way to parse the files (again, each time it is called), and the list their problems go to; bad
    options exit at once."""
    from shipper.parse.batch import ParseOptions, parse_events
    from shipper.parse.parser import Parser
    from shipper.parse.reader import open_inputs

    try:
        options = ParseOptions(timezone=timezone, reference=_reference(reference_date))
        Parser(timezone=timezone)
    except ValueError as exc:
        _error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    failed: list[str] = []

    def events() -> Iterator[dict[str, Any]]:
        inputs = open_inputs(files, lambda p, m: failed.append(f"{p}: {m}"))
        on_chunk = progress.update if progress is not None else lambda path, stream: None
        yield from parse_events(inputs, options, on_chunk, lambda p, m: failed.append(f"{p or 'stdin'}: {m}"))

    return events, failed


@app.command(
    epilog=(
        "Examples:\n\n"
        "  shipper transactions /var/log/mail.log /var/log/mail.log.1.gz > transactions.ndjson\n\n"
        "  shipper transactions samples/postfix/mail.log | jq 'select(.mail.status != \"sent\")'"
    )
)
def transactions(
    files: Annotated[list[Path], typer.Argument(help="Log files in time order (plain, .gz, .bz2, .xz); '-' = stdin.")],
    timezone: TimezoneOption = "local",
    reference_date: ReferenceDateOption = None,
    ttl_hours: Annotated[
        float, typer.Option(min=0.01, help="Emit a message not seen for this long (log time) as incomplete.")
    ] = 144.0,
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

    events, failed = _parsed_events(files, timezone, reference_date)
    correlator = Correlator(load_packs(), ttl=ttl_hours * 3600, max_open=max_open)
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
    _note_evicted(correlator)
    for problem in failed:
        _error(problem)
    raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)


@app.command(
    epilog=(
        "Examples:\n\n"
        "  shipper trace 5E6F7A8B90 /var/log/mail.log /var/log/mail.log.1.gz\n\n"
        "  shipper trace alice@example.org /var/log/mail.log*\n\n"
        "  shipper trace '<a1@example.org>' --es https://es.example.com:9200   # what `shipper ingest/run` indexed"
    )
)
@_with_es_options
def trace(
    query: Annotated[str, typer.Argument(help="A queue ID, a Message-ID or an address (sender or recipient).")],
    files: Annotated[
        list[Path] | None, typer.Argument(help="Log files in time order (plain, .gz, .bz2, .xz); none: use --es.")
    ] = None,
    namespace: Annotated[str, typer.Option(help="With --es: the data streams' namespace ('*' = all).")] = "*",
    timezone: TimezoneOption = "local",
    reference_date: ReferenceDateOption = None,
    *,
    es_options: dict[str, object],
) -> None:
    """The whole life of a message: every line of every queue ID in its chain, each recipient's fate, and why.

    From log files, or (no files) from Elasticsearch: the message's document in mail-transactions-* and
    its lines in logs-mail.*. Exit status 0 when a message was found, 1 when none matched or an input
    was unreadable.
    """
    from shipper.enrich.correlate import Correlator
    from shipper.enrich.trace import from_elasticsearch, render, render_doc
    from shipper.enrich.trace import trace as run_trace
    from shipper.parse.packs import load_packs

    if not files:
        if not _es_configured(es_options):
            _error("give log files, or --es (or ES_URL) to trace what was indexed")
            raise typer.Exit(EXIT_USAGE)
        from elasticsearch import ApiError, TransportError

        from shipper.elastic.connection import describe_error

        try:
            found_docs = from_elasticsearch(_connect(es_options), query, namespace)
        except (ApiError, TransportError) as exc:
            _error(f"search failed: {describe_error(exc)}")
            raise typer.Exit(EXIT_FAILED) from None
        if not found_docs:
            _error(f"no message matches {query!r} in mail-transactions-{namespace}")
            raise typer.Exit(EXIT_FAILED)
        for doc, lines in found_docs:
            for line in render_doc(doc, lines):
                typer.echo(printable(line))
            typer.echo("")
        raise typer.Exit(EXIT_OK)
    if any(str(p) == "-" for p in files):
        _error("trace reads its files twice: give files, not stdin")
        raise typer.Exit(EXIT_USAGE)
    events, failed = _parsed_events(files, timezone, reference_date)
    found = run_trace(query, events, Correlator(load_packs()))
    for problem in dict.fromkeys(failed):
        _error(problem)
    if not found:
        _error(f"no message matches {query!r}")
        raise typer.Exit(EXIT_FAILED)
    for item in found:
        for line in render(item):
            typer.echo(printable(line))
        typer.echo("")
    raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)


class ReportFormat(StrEnum):
    text = "text"
    json = "json"
    html = "html"


@app.command(
    epilog=(
        "Examples:\n\n"
        "  shipper report /var/log/mail.log\n\n"
        "  shipper report --format html -o yesterday.html /var/log/mail.log.1.gz\n\n"
        "  shipper report --format json /var/log/maillog* | jq .grand_totals\n\n"
        "  shipper report -d yesterday /var/log/mail.log /var/log/mail.log.1.gz   # the daily cron report"
    )
)
def report(
    files: Annotated[list[Path], typer.Argument(help="Log files in time order (plain, .gz, .bz2, .xz); '-' = stdin.")],
    output_format: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="text, json or html.")
    ] = ReportFormat.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    top: Annotated[int, typer.Option(min=0, help="Rows per table (0 = all).")] = 20,
    day: Annotated[
        str | None, typer.Option("--day", "-d", help="Only this day: today, yesterday or YYYY-MM-DD (pflogsumm -d).")
    ] = None,
    syslog_name: Annotated[
        str, typer.Option(help="Count this Postfix instance (syslog_name) besides 'postfix', as pflogsumm does.")
    ] = "postfix",
    timezone: TimezoneOption = "local",
    reference_date: ReferenceDateOption = None,
    ttl_hours: Annotated[
        float, typer.Option(min=0.01, help="A message not seen for this long (log time) counts as cut off.")
    ] = 144.0,
    max_open: MaxOpenOption = 1_000_000,
) -> None:
    """A pflogsumm-style summary: grand totals, traffic per day and hour, domains, top senders and recipients,
    deferral/bounce/reject reasons, warnings; then what joined messages tell: each message's outcome, why
    mail failed (reason categories) and the mail still stuck in the queue.

    The grand totals follow pflogsumm's definitions (delivered and bounced count recipients; deferred
    counts messages, deferrals count attempts), so on a log pflogsumm can read they are equal to its own.
    Exit status 0, or 1 when an input was unreadable.
    """
    from shipper.enrich.correlate import Correlator
    from shipper.parse.packs import load_packs
    from shipper.parse.timestamps import resolve_timezone, timezone_name
    from shipper.report import html, text
    from shipper.report.build import ReportBuilder, build

    try:
        tz = resolve_timezone(timezone)
    except ValueError as exc:
        _error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    only_day = _report_day(day, tz) if day is not None else None
    progress = _ByteProgress([p for p in files if str(p) != "-"], always=output is not None, label="reading")
    events, failed = _parsed_events(files, timezone, reference_date, progress)
    correlator = Correlator(load_packs(), ttl=ttl_hours * 3600, max_open=max_open)
    builder = ReportBuilder(correlator, tz, timezone_name(tz), syslog_name, top, only_day)
    with progress:
        result = build(events(), builder)
    _note_evicted(correlator)
    if output_format is ReportFormat.json:
        rendered = result.model_dump_json(indent=2) + "\n"
    elif output_format is ReportFormat.html:
        rendered = html.render(result)
    else:
        rendered = "\n".join(map(printable, text.render(result))) + "\n"
    try:
        if output is None:
            sys.stdout.write(rendered)
            sys.stdout.flush()
        else:
            write_new(output, rendered.encode("utf-8"))
    except BrokenPipeError:
        sys.stderr.close()
        raise typer.Exit(EXIT_OK) from None
    except OSError as exc:
        why = "a symbolic link: not followed" if exc.errno == errno.ELOOP else exc.strerror
        _error(f"{output}: cannot write ({why})")
        raise typer.Exit(EXIT_FAILED) from None
    for problem in dict.fromkeys(failed):
        _error(problem)
    raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)


def _report_day(text: str, tz: object) -> str:
    from datetime import datetime, timedelta

    today = datetime.now(tz).date()  # type: ignore[arg-type]
    if text in ("today", "yesterday"):
        return (today - timedelta(days=text == "yesterday")).isoformat()
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        _error(f"--day: expected today, yesterday or YYYY-MM-DD, got {text!r}")
        raise typer.Exit(EXIT_USAGE) from None


ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="The YAML configuration (see examples/shipper.yml).")
]


def _load_run_config(config: Path):  # -> RunConfig
    from shipper.run.config import ConfigError, load_config

    try:
        return load_config(config)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            _error(line)
        raise typer.Exit(EXIT_USAGE) from None


def _log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    sys.stderr.write(f"{stamp} {message}\n")
    sys.stderr.flush()


@app.command(
    epilog=(
        "Examples:\n\n"
        "  shipper run -c /etc/shipper/shipper.yml\n\n"
        "  shipper run -c examples/shipper.yml   # kill -HUP to reload inputs, kill -TERM to drain and stop\n\n"
        "Exit status: 0 after a clean stop, 1 when the output or registry failed, 2 for a bad config."
    )
)
def run(config: ConfigOption) -> None:
    """Follow log files through rotation and ship every line (to Elasticsearch, stdout or a file).

    Offsets are kept in a registry that only advances once the output has confirmed the lines, so a crash
    or restart re-sends at most the unconfirmed tail, which idempotent event ids make harmless.
    """
    from elasticsearch import ApiError

    from shipper.elastic.connection import ConnectionSettingsError, describe_error
    from shipper.run.registry import RegistryError
    from shipper.run.service import Service

    settings = _load_run_config(config)
    try:
        status = Service(settings, config, _log).run()
    except (ConnectionSettingsError, RegistryError) as exc:
        _error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    except ApiError as exc:  # refused for good, e.g. setup without the privileges it needs
        _error(f"Elasticsearch: {describe_error(exc)}")
        raise typer.Exit(EXIT_FAILED) from None
    raise typer.Exit(status)


@app.command("check-config", epilog="Example:\n\n  shipper check-config -c /etc/shipper/shipper.yml")
def check_config(config: ConfigOption) -> None:
    """Validate a configuration and show what it will follow; exit 2 with every problem named if it is wrong."""
    import glob as globbing

    settings = _load_run_config(config)
    out = settings.output
    target = "stdout" if out.stdout else f"file {out.file.path}" if out.file else "Elasticsearch"
    typer.echo(f"{config}: OK; output: {target}; registry: {settings.registry.path}")
    for item in settings.effective_inputs():
        for pattern in item.paths:
            matches = (
                globbing.glob(pattern) if globbing.has_magic(pattern) else [p for p in [pattern] if Path(p).exists()]
            )
            typer.echo(f"  {pattern}  source={item.source or 'by program'}  now matches {len(matches)} file(s)")


@app.command(epilog="Example:\n\n  shipper status -c /etc/shipper/shipper.yml")
def status(config: ConfigOption) -> None:
    """Show the registry: every followed file, the offset shipped and confirmed, and how far behind it is."""
    import os

    from shipper.run.registry import Registry, RegistryError

    settings = _load_run_config(config)
    try:
        registry = Registry.load(settings.registry.path)
    except RegistryError as exc:
        _error(str(exc))
        raise typer.Exit(EXIT_FAILED) from None
    if not registry.files:
        typer.echo(f"{settings.registry.path}: no files shipped yet")
        return
    typer.echo(f"{'offset':>14} {'size':>14} {'lag':>12}  state     path")
    for state in sorted(registry.files.values(), key=lambda s: (s.finished, s.path)):
        try:
            st = os.stat(state.path)
            same = (st.st_dev, st.st_ino) == (state.device, state.inode)
        except OSError:
            st, same = None, False
        size = st.st_size if st is not None and same else state.size
        lag = max(0, size - state.offset)
        kind = "finished" if state.finished else "following" if same else "rotated"
        typer.echo(f"{state.offset:>14} {size:>14} {lag:>12}  {kind:<9} {state.path}")


def _add_queue_commands() -> None:
    from shipper.queue.cli import queue_app  # imports this module's helpers, so it comes last

    app.add_typer(queue_app, name="queue")


_add_queue_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
