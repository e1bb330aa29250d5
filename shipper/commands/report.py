"""`shipper report`: the pflogsumm-style summary."""

from __future__ import annotations

import errno
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from shipper.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    ByteProgress,
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
from shipper.files import write_new
from shipper.terminal import printable


class ReportFormat(StrEnum):
    text = "text"
    json = "json"
    html = "html"


def report(
    files: Annotated[
        list[Path],
        typer.Argument(help="Log files in time order, directories or globs (plain, .gz, .bz2, .xz); '-' = stdin."),
    ],
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
    workers: WorkersOption = 0,
    ttl: TtlOption = "6d",  # type: ignore[assignment]
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
        error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    only_day = _report_day(day, tz) if day is not None else None
    files, discovered, missing = resolve_inputs(files)
    progress = ByteProgress([p for p in files if str(p) != "-"], always=output is not None, label="reading")
    events, failed = parsed_events(files, timezone, reference_date, progress, discovered, workers)
    correlator = Correlator(load_packs(), ttl=ttl, max_open=max_open)
    builder = ReportBuilder(correlator, tz, timezone_name(tz), syslog_name, top, only_day)
    with progress:
        result = build(events(), builder)
    note_evicted(correlator)
    failed += ["an input named nothing"] * bool(missing)
    if not result.lines and failed:  # nothing read: the errors say why; a report of zeros would mislead
        for problem in dict.fromkeys(failed):
            error(problem)
        raise typer.Exit(EXIT_FAILED)
    if only_day is not None and not result.lines:
        covers = f"it covers {builder.days[0]} .. {builder.days[1]}" if builder.days else "it has no timestamps"
        error(f"no line of {only_day} in the input ({timezone_name(tz)}): {covers}")
        raise typer.Exit(EXIT_FAILED)
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
        error(f"{output}: cannot write ({why})")
        raise typer.Exit(EXIT_FAILED) from None
    for problem in dict.fromkeys(p for p in failed if p != "an input named nothing"):
        error(problem)
    raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)


def _report_day(text: str, tz: object) -> str:
    from datetime import datetime, timedelta

    today = datetime.now(tz).date()  # type: ignore[arg-type]
    if text in ("today", "yesterday"):
        return (today - timedelta(days=text == "yesterday")).isoformat()
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        error(f"--day: expected today, yesterday or YYYY-MM-DD, got {text!r}")
        raise typer.Exit(EXIT_USAGE) from None


def register(app: typer.Typer) -> None:
    app.command(
        epilog=(
            "Examples:\n\n"
            "  shipper report /var/log/mail.log\n\n"
            "  shipper report --format html -o yesterday.html /var/log/mail.log.1.gz\n\n"
            "  shipper report --format json /var/log/maillog* | jq .grand_totals\n\n"
            "  shipper report -d yesterday /var/log/mail.log /var/log/mail.log.1.gz   # the daily cron report"
        )
    )(report)
