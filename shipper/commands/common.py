"""What the commands share: error lines, exit codes, common options, progress, the Elasticsearch options
and connection, reading inputs for the commands that fold events, the run configuration."""

from __future__ import annotations

import contextlib
import functools
import inspect
import stat
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO, cast

import typer

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch
    from rich.console import Console
    from rich.progress import Progress

    from shipper.elastic.connection import EsSettings
    from shipper.elastic.templates import LifecycleAges
    from shipper.kql.prefilter import LinePrefilter
    from shipper.run.config import RunConfig


@cache
def stderr() -> Console:
    """rich is imported on first use: it is a sixth of start-up, and most runs print nothing to stderr."""
    from rich.console import Console

    return Console(stderr=True)


EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def error(message: str) -> None:
    """One error line on stderr, never wrapped or marked up (file names may contain brackets)."""
    stderr().print("[red]error:[/] ", end="", markup=True)
    stderr().print(message, markup=False, highlight=False, soft_wrap=True)


def duration(text: str) -> float:
    """A command-line duration in the one syntax of shipper (core/durations.py)."""
    from shipper.core.durations import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


TtlOption = Annotated[
    float,
    typer.Option(
        "--ttl", parser=duration, metavar="DURATION",
        help="Emit a message not seen for this long (log time) as incomplete, e.g. 6d or 36h.",
    ),
]  # fmt: skip
TimezoneOption = Annotated[
    str, typer.Option(help="Zone for timestamps that carry none: 'local', 'UTC' or an IANA name.")
]
ReferenceDateOption = Annotated[
    str | None, typer.Option(help="Place year-less timestamps in the 12 months up to this date (YYYY-MM-DD).")
]
WorkersOption = Annotated[
    int,
    typer.Option(
        "--workers", "-j", min=0,
        help="Parser processes: 0 = one per core when the files add up to 8 MiB or more, else 1; stdin: 1.",
    ),
]  # fmt: skip
MaxOpenOption = Annotated[
    int,
    typer.Option(
        min=1, help="Messages held open at most; past that the least recently active is emitted as incomplete."
    ),
]


def note_evicted(correlator: Any) -> None:
    """Messages given up at the cap were cut in two: say so, and how to keep them whole."""
    if correlator.evicted:
        stderr().print(
            f"warning: {correlator.evicted} open message(s) given up (cap {correlator.max_open} or ttl reached), "
            "emitted as incomplete; raise --max-open or --ttl to keep them whole",
            markup=False, highlight=False, soft_wrap=True,
        )  # fmt: skip


NO_SUCH_FILE = "no such file"
IS_A_DIRECTORY = "is a directory (name the files, e.g. dir/*.log)"


def input_problem(path: Path) -> str | None:
    """Why `path` cannot be read as a log file, or None. (Path.exists and is_file raise on EACCES.)"""
    try:
        st = path.stat()
    except FileNotFoundError:
        return NO_SUCH_FILE
    except OSError as exc:
        return f"cannot read ({exc.strerror or exc})"
    return IS_A_DIRECTORY if stat.S_ISDIR(st.st_mode) else None


NOT_LOGS = {".md", ".json", ".ndjson", ".yml", ".yaml"}


def expand_inputs(paths: list[str], follow_symlinks: bool = False) -> tuple[list[Path], list[str], set[Path]]:
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
        problem = input_problem(Path(arg)) if named else None
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
                stderr().print(f"warning: skipped {refusal}", markup=False, highlight=False, soft_wrap=True)
                continue
            found.append(path)
            discovered.add(path)
        if not candidates:
            missing.append(arg)
    return found, missing, discovered


def resolve_inputs(args: list[Path] | None) -> tuple[list[Path], set[Path], int]:
    """The files a reading command (parse, report, transactions, trace) reads, expanded as `ingest` expands
    them: directories walked, globs matched; an argument that names nothing is an error line, and nothing at
    all to read exits 1. Also which were found rather than named (opened under the symbolic-link policy), and
    how many arguments named nothing."""
    if not args:
        return [], set(), 0
    files, missing, discovered = expand_inputs([str(a) for a in args])
    for arg in missing:
        error(f"{arg}: no such file (or nothing matched)")
    if not files:
        raise typer.Exit(EXIT_FAILED)
    return files, discovered, len(missing)


def input_opener(discovered: set[Path]) -> Callable[[Path], BinaryIO]:
    """Open a found file without following a link planted by others (shipper/safeopen.py), a named one as is."""
    from shipper.core.compression import open_binary
    from shipper.safeopen import stream_found

    return lambda path: stream_found(str(path)) if path in discovered else open_binary(path)


class ByteProgress:
    """One bar over all input files by bytes read (compressed bytes for compressed files), on stderr, shown
    only when stderr is a terminal and (unless `always`) stdout is not; rich is imported only then."""

    def __init__(self, paths: list[Path], always: bool = False, label: str = "parsing") -> None:
        self.offsets: dict[Path, int] = {}  # bytes of the files before each one
        total = 0
        for path in paths:
            if input_problem(path) is None:
                self.offsets.setdefault(path, total)
                total += path.stat().st_size
        self.bar: Progress | None = None
        if self.offsets and sys.stderr.isatty() and (always or not sys.stdout.isatty()):
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                console=stderr(), transient=True,
            )  # fmt: skip
            self.task = self.bar.add_task(label, total=total or None)

    def update(self, path: Path | None, stream: BinaryIO) -> None:
        if self.bar is None or path not in self.offsets:
            return
        raw = getattr(stream, "fileobj", None) or getattr(stream, "_fp", None) or stream
        with contextlib.suppress(OSError, ValueError, AttributeError):
            self.bar.update(self.task, completed=self.offsets[path] + raw.tell())

    def __enter__(self) -> ByteProgress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def parse_reference_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--reference-date: expected YYYY-MM-DD, got {text!r}") from None


# Options of every command that talks to Elasticsearch, added to its signature by `@with_es_options`.
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


def with_es_options(command: Callable[..., None]) -> Callable[..., None]:
    """Add the connection options to a command; it receives them as one EsSettings, `es_options`."""
    signature = inspect.signature(command)
    namespace = command.__globals__  # the options' annotations are evaluated; es_options' never is (typing only)
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
        for name, (annotation, default) in _ES_OPTIONS.items()
    ]
    own = [
        p.replace(
            kind=inspect.Parameter.KEYWORD_ONLY,
            annotation=eval(p.annotation, namespace) if isinstance(p.annotation, str) else p.annotation,
        )
        for p in signature.parameters.values()
        if p.name != "es_options"
    ]

    context = inspect.Parameter("_es_context", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)

    @functools.wraps(command)
    def wrapper(**kwargs: object) -> None:
        given = {name: kwargs.pop(name) for name in _ES_OPTIONS}
        _refuse_credentials_in_arguments(given, cast(typer.Context, kwargs.pop("_es_context")))
        command(es_options=_es_settings(given), **kwargs)

    parameters = [*own, *extra, context]
    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}  # what typer reads, evaluated
    return wrapper


def _es_settings(given: dict[str, Any]) -> EsSettings:
    from shipper.elastic.connection import ConnectionSettingsError, EsSettings

    try:
        return EsSettings.build(
            hosts=given["es"] or [], cloud_id=given["cloud_id"], username=given["es_user"],
            password_file=given["es_password_file"], api_key_file=given["es_api_key_file"],
            bearer_token_file=given["es_bearer_token_file"], ca_file=given["ca_file"],
            fingerprint=given["fingerprint"], verify_certs=not given["insecure"],
        )  # fmt: skip
    except ConnectionSettingsError as exc:
        error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None


def _refuse_credentials_in_arguments(es_options: dict[str, object], context: typer.Context) -> None:
    """`--es https://user:pass@host` would show the password to every user of the machine in `ps`."""
    from shipper.elastic.connection import has_credentials

    source = context.get_parameter_source("es")
    if source is None or source.name != "COMMANDLINE":
        return  # ES_URL from the environment is fine: only its owner and root can read it
    if any(has_credentials(url) for url in es_options["es"] or []):  # type: ignore[attr-defined]
        error(
            "--es: a URL holding credentials is visible to every user in `ps`; put it in ES_URL, or give the user "
            "with --es-user and the password in ES_PASSWORD or --es-password-file"
        )
        raise typer.Exit(EXIT_USAGE)


def connect(settings: EsSettings) -> Elasticsearch:
    """A client that has answered a health request, or exit with a message that names no secret."""
    from elasticsearch import ApiError, AuthorizationException, TransportError

    from shipper.elastic.connection import ConnectionSettingsError, describe_error

    try:
        connection = settings.connection()
    except ConnectionSettingsError as exc:
        error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    if not connection.verify_certs:
        stderr().print("warning: TLS certificate verification is OFF (--insecure)", markup=False, highlight=False)
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
        error(f"cannot use Elasticsearch at {connection.describe()}: {describe_error(exc)}{hint}")
        raise typer.Exit(EXIT_FAILED) from None
    return client


def print_setup(report: object, check: bool) -> None:
    from shipper.elastic.setup import SetupReport

    assert isinstance(report, SetupReport)
    for note in report.notes:
        stderr().print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    for kind, name, state in report.results:
        typer.echo(f"{state:<10} {kind:<10} {name}")
    if not check and report.changed:
        typer.echo("Existing data streams use the new mappings from their next rollover.")


def lifecycle_ages(rollover_age: str, rollover_size: str, delete_after: str) -> LifecycleAges:
    from shipper.elastic.templates import LifecycleAges

    return LifecycleAges(rollover_age, rollover_size, None if delete_after == "never" else delete_after)


def ensure_templates(client: object, run_setup_first: bool, warn: Callable[[str], None]) -> None:
    """Install the templates (--setup), or make sure they are there before writing: events that reach
    a data stream without them get mappings that cannot be fixed later."""
    from elasticsearch import AuthorizationException

    from shipper.elastic.setup import run_setup

    if run_setup_first:
        print_setup(run_setup(client, lifecycle_ages("7d", "50gb", "180d")), check=False)
        return
    try:
        installed = client.indices.exists_index_template(name="logs-mail")  # type: ignore[attr-defined]
        report = run_setup(client, lifecycle_ages("7d", "50gb", "180d"), check_only=True) if installed else None
    except AuthorizationException:
        warn("not allowed to read index templates (a writer-only API key?): assuming `shipper setup` was run")
        return
    if report is None:
        error("the logs-mail index template is not installed: run `shipper setup` first, or pass --setup")
        raise typer.Exit(EXIT_FAILED)
    stale = [name for _, name, state in report.results if state in ("missing", "differs")]
    if stale:
        warn(f"templates differ from this shipper version's ({', '.join(stale)}): run `shipper setup`")


def parsed_events(
    files: list[Path],
    timezone: str,
    reference_date: str | None,
    progress: ByteProgress | None = None,
    discovered: set[Path] | None = None,
    workers: int = 1,
    prefilter: LinePrefilter | None = None,
) -> tuple[Callable[[], Iterator[dict[str, Any]]], list[str]]:
    """A way to parse the files (again, each time it is called), and the list their problems go to; bad
    options exit at once. With a prefilter, only the lines that pass it are parsed (`shipper grep`)."""
    from shipper.pipeline.emit import ParseSettings, Pipeline
    from shipper.pipeline.inputs import open_inputs
    from shipper.pipeline.parallel import parse_events, pool_size

    try:
        reference = parse_reference_date(reference_date)
        options = ParseSettings(timezone=timezone, reference=reference, prefilter=prefilter)
        Pipeline(options)  # fail now on a bad zone or pack
    except ValueError as exc:
        error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    failed: list[str] = []
    processes = pool_size(workers, files)

    def events() -> Iterator[dict[str, Any]]:
        inputs = open_inputs(files, lambda p, m: failed.append(f"{p}: {m}"), input_opener(discovered or set()))
        on_chunk = progress.update if progress is not None else lambda path, stream: None
        on_error = lambda p, m: failed.append(f"{p or 'stdin'}: {m}")  # noqa: E731
        yield from parse_events(inputs, options, on_chunk, on_error, processes)

    return events, failed


ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="The YAML configuration (see examples/shipper.yml).")
]


def load_run_config(config: Path, *, lenient: bool = False) -> RunConfig:
    """The configuration, or exit 2 naming every problem. `lenient`: for commands that never reach the
    output (check-config, status), which must work without its secrets and environment."""
    from shipper.run.config import ConfigError, load_config

    unresolved: list[str] | None = [] if lenient else None
    try:
        settings = load_config(config, unresolved)
        for note in unresolved or []:
            stderr().print(f"note: {config}: {note}; it is needed by `shipper run`", markup=False, highlight=False)
        return settings
    except ConfigError as exc:
        for line in str(exc).splitlines():
            error(line)
        raise typer.Exit(EXIT_USAGE) from None


def log_line(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    sys.stderr.write(f"{stamp} {message}\n")
    sys.stderr.flush()
