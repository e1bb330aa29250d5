"""The `shipper` command line."""

from __future__ import annotations

import contextlib
import sys
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer

from shipper import __version__

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
    timezone: Annotated[
        str, typer.Option(help="Zone for timestamps that carry none: 'local', 'UTC' or an IANA name.")
    ] = "local",
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
    """Parse mail logs into ECS events: one JSON object per input line, in input order (NDJSON).

    Every line gives an event. Lines no rule matches keep their text and carry the tag `unparsed`.
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
    missing = [p for p in paths if str(p) != "-" and (not p.exists() or p.is_dir())]
    for path in missing:
        problem = "is a directory (name the files, e.g. dir/*.log)" if path.is_dir() else "no such file"
        _error(f"{path}: {problem}")
    paths = [p for p in paths if p not in missing]
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


class _ByteProgress:
    """One bar over all input files by bytes read (compressed bytes for compressed files), on stderr, shown
    only when stderr is a terminal and stdout is not; rich is imported only then."""

    def __init__(self, paths: list[Path]) -> None:
        self.offsets: dict[Path, int] = {}  # bytes of the files before each one
        total = 0
        for path in paths:
            if path.is_file():
                self.offsets.setdefault(path, total)
                total += path.stat().st_size
        self.bar: Progress | None = None
        if self.offsets and sys.stderr.isatty() and not sys.stdout.isatty():
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                console=_stderr(), transient=True,
            )  # fmt: skip
            self.task = self.bar.add_task("parsing", total=total or None)

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

    if format == "markdown":
        typer.echo(render_markdown(), nl=False)
    elif format == "json":
        defs = [f.model_dump() for f in load_fields().values()]
        sys.stdout.buffer.write(orjson.dumps(defs, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        _error(f"--format: expected markdown or json, got {format!r}")
        raise typer.Exit(EXIT_USAGE)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
