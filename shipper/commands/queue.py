"""`shipper queue ...`: list, explain and act on a mail queue (Postfix, Zimbra, Exim, Sendmail, qmail)."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from shipper.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    connect,
    duration,
    ensure_templates,
    error,
    parsed_events,
    stderr,
    with_es_options,
)
from shipper.core.durations import human_age
from shipper.parse.reasons import categories
from shipper.queue.model import QueuedMessage, QueueError
from shipper.terminal import printable

if TYPE_CHECKING:
    from shipper.elastic.connection import EsSettings

queue_app = typer.Typer(
    help="Mail queues: list them, find stuck mail and why, snapshot them into Elasticsearch, act on them.",
    no_args_is_help=True, rich_markup_mode="rich", context_settings={"help_option_names": ["-h", "--help"]},
)  # fmt: skip


class MtaChoice(StrEnum):
    auto = "auto"
    postfix = "postfix"
    exim = "exim"
    sendmail = "sendmail"
    qmail = "qmail"


class Format(StrEnum):
    table = "table"
    json = "json"


class ListFormat(StrEnum):
    table = "table"
    plain = "plain"
    json = "json"


MtaOption = Annotated[MtaChoice, typer.Option("--mta", help="Whose queue: auto finds the installed tool.")]
FromOption = Annotated[
    Path | None,
    typer.Option("--from", help="Read saved output (postqueue -j or -p, exim -bp, mailq, qmail-qread) instead."),
]
MtaConfigOption = Annotated[
    str | None,
    typer.Option("--mta-config", "--config-dir",
                 help="Another instance: Postfix's configuration directory (-c), Exim's configuration file (-C)."),
]  # fmt: skip


def parse_duration(text: str) -> int:
    """Whole seconds, in the one duration syntax (core/durations.py)."""
    return int(duration(text))


def load_queue(mta_choice: MtaChoice, saved: Path | None, mta_config: str | None) -> tuple[Any, list[QueuedMessage]]:
    """(MTA, its messages) from the live queue or saved output; exits with a message on any failure."""
    from shipper.queue.mta import choose, read_live, read_saved

    now = datetime.now().astimezone()
    try:
        mta = choose(mta_choice.value)
        if saved is not None:
            listing = read_saved(mta, saved.read_text(encoding="utf-8", errors="replace"), now)
        else:
            listing = read_live(mta, mta_config, now)
    except (ValueError, OSError, QueueError) as exc:
        error(printable(str(exc)))
        raise typer.Exit(EXIT_FAILED) from None
    for problem in listing.skipped:  # one unreadable entry never hides the rest of the queue
        stderr().print(f"warning: {printable(problem)}", markup=False, highlight=False, soft_wrap=True)
    return mta, listing


def _reason_text(m: QueuedMessage) -> str:
    from shipper.queue.mta import diagnose

    said, category, _ = diagnose(m)
    reason = f"{category}: {said}" if category and said and category != said else (said or "")
    if said != m.reason and m.reason:  # held: the reply of its last attempt before that
        reason += f"; last reply: {m.reason}"
    return reason


def _plain_rows(m: QueuedMessage) -> list[str]:
    arrival = m.arrival.strftime("%Y-%m-%dT%H:%M:%S") if m.arrival else "?"
    head = [m.queue_id, m.queue, arrival, str(m.age_seconds if m.age_seconds is not None else "?"),
            str(m.size if m.size is not None else "?"), m.sender or "<>"]  # fmt: skip
    reason = _reason_text(m).replace("\t", " ")
    pending = [r.address + (" (delivered)" if r.delivered else "") for r in m.recipients] or ["?"]
    return ["\t".join([*head, address, reason]) for address in pending]


def _print_table(messages: list[QueuedMessage], title: str, width: int | None = None) -> None:
    """Every cell is plain text: a sender `"[/]"@x` or a reply holding `[link=...]` is shown as written. An
    address is never broken across lines (it could not be copied): the reason column gives way, and where
    even that leaves it too narrow, each message is a block as `mailq` prints it, the reason below."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(width=width) if width else Console()
    if not width and not console.is_terminal:  # a pipe or a file: lines as long as they need, not 80 columns
        console = Console(width=max(console.width, 200))
    rows = [_cells(m) for m in messages]
    fixed = [max([len(h)] + [max(map(len, r[i].split("\n"))) for r in rows]) for i, h in enumerate(COLUMNS[:-1])]
    if console.width - (sum(fixed) + 2 * len(fixed)) < REASON_MIN:
        _print_blocks(messages, rows, title, console.width)
        return
    table = Table(title=Text(title), title_justify="left", box=None, pad_edge=False)
    for column in COLUMNS[:-1]:
        table.add_column(column, no_wrap=True)
    table.add_column(COLUMNS[-1], overflow="fold", ratio=1)
    for cells in rows:
        table.add_row(*(Text(cell) for cell in cells))
    console.print(table)


COLUMNS = ("queue id", "queue", "arrival", "age", "size", "sender", "recipients", "reason")
REASON_MIN = 24


def _cells(m: QueuedMessage) -> tuple[str, ...]:
    return (
        m.queue_id, m.queue, m.arrival.strftime("%Y-%m-%d %H:%M:%S") if m.arrival else "?",
        human_age(m.age_seconds), str(m.size if m.size is not None else "?"), printable(m.sender or "<>"),
        "\n".join(printable(r.address) + (" (delivered)" if r.delivered else "") for r in m.recipients),
        printable(_reason_text(m)),
    )  # fmt: skip


def _print_blocks(messages: list[QueuedMessage], rows: list[tuple[str, ...]], title: str, width: int) -> None:
    import textwrap

    typer.echo(title)
    for cells in rows:
        typer.echo("  ".join(cells[:6]))
        for address in cells[6].split("\n"):
            typer.echo(f"    {address}")
        if cells[7]:
            for line in textwrap.wrap(f"({cells[7]})", max(width - 4, 20), break_on_hyphens=False):
                typer.echo(f"    {line}")


@queue_app.command(
    "list",
    epilog=(
        "Examples:\n\n"
        "  shipper queue list                                # the local MTA's queue\n\n"
        "  shipper queue list --format json | jq 'select(.queue==\"hold\")'\n\n"
        "  shipper queue list --mta exim --from exim-bp.txt  # saved `exim -bp` output"
    ),
)
def list_queue(
    mta: MtaOption = MtaChoice.auto, saved: FromOption = None, mta_config: MtaConfigOption = None,
    output_format: Annotated[ListFormat, typer.Option(
        "--format", help="table; plain (one tab-separated line per recipient, for grep and awk); json (one per line).",
    )] = ListFormat.table,
) -> None:  # fmt: skip
    """Every queued message: queue ID, queue, arrival, age, size, sender, recipients, reason and its category."""
    from shipper.queue.mta import diagnose

    found_mta, messages = load_queue(mta, saved, mta_config)
    if output_format is ListFormat.plain:
        for m in messages:
            for row in _plain_rows(m):
                typer.echo(printable(row))
        return
    if output_format is ListFormat.json:
        out = sys.stdout.buffer
        for m in messages:
            said, category, hint = diagnose(m)
            doc = {**m.model_dump(mode="json"), "reason": said, "category": category, "hint": hint}
            if said != m.reason:
                doc["last_reply"] = m.reason
            out.write(orjson.dumps(doc, option=orjson.OPT_APPEND_NEWLINE))
        return
    total = sum(m.size or 0 for m in messages)
    _print_table(messages, f"{found_mta.name} queue: {len(messages)} message(s), {total} bytes")


@queue_app.command(
    epilog=(
        "Examples:\n\n"
        "  shipper queue stuck --older-than 1h --logs /var/log/mail.log /var/log/mail.log.1\n\n"
        "  shipper queue stuck --older-than 30m --es $ES_URL        # trails from what shipper indexed\n\n"
        "  shipper queue stuck --format json | jq -r .queue_id"
    )
)
@with_es_options
def stuck(
    es_options: EsSettings,
    older_than: Annotated[str, typer.Option(help="Queued at least this long: 90s, 30m, 1h, 2d, 1d12h.")] = "1h",
    logs: Annotated[list[Path] | None, typer.Option("--logs", help="Log files with each message's trail.")] = None,
    namespace: Annotated[str, typer.Option(help="With --es: the data streams' namespace ('*' = all).")] = "*",
    mta: MtaOption = MtaChoice.auto, saved: FromOption = None, mta_config: MtaConfigOption = None,
    output_format: Annotated[Format, typer.Option("--format", help="table (text for people) or json.")] = Format.table,
) -> None:  # fmt: skip
    """Messages queued longer than --older-than: why (reason, category, a concrete hint) and their log trail.

    The trail comes from --logs files or, with --es, from what shipper indexed. Exit status 0 when the queue
    was read, whether or not anything is stuck; 1 when it could not be.
    """
    from shipper.queue.stuck import explain_from_elasticsearch, explain_from_logs, select_stuck

    threshold = parse_duration(older_than)
    _, messages = load_queue(mta, saved, mta_config)
    items = select_stuck(messages, threshold)
    if items and logs:
        events, failed = parsed_events(logs, "local", None)
        explain_from_logs(items, events)
        for problem in failed:
            error(problem)
    elif items and es_options.configured:
        explain_from_elasticsearch(items, connect(es_options), namespace)
    if output_format is Format.json:
        for item in items:
            sys.stdout.buffer.write(orjson.dumps(item.as_dict(), option=orjson.OPT_APPEND_NEWLINE))
        return
    if not items:
        typer.echo(f"nothing queued for {older_than} or longer ({len(messages)} message(s) queued)")
        return
    typer.echo(f"{len(items)} message(s) queued for {older_than} or longer:")
    for item in items:
        m = item.message
        to = ", ".join(r.address for r in m.recipients if not r.delivered)
        typer.echo("")
        typer.echo(printable(f"{m.queue_id}  {m.queue}  {human_age(m.age_seconds)}  from <{m.sender}>  to {to}"))
        typer.echo(printable(f"  reason:   {item.reason or 'unknown (no reason in the queue or the logs)'}"))
        if item.last_reply:
            typer.echo(printable(f"  last reply before: {item.last_reply}"))
        typer.echo(f"  category: {item.category or 'unclassified'}")
        if item.hint:
            typer.echo(f"  hint:     {item.hint}")
        if item.trail:
            typer.echo("  log trail:")
            for stamp, qid, line in item.trail:
                typer.echo(printable(f"    {stamp}  {qid:<12} {line}"))
        elif logs or es_options.configured:
            typer.echo("  log trail: none found")


@queue_app.command(
    epilog=(
        "Examples:\n\n"
        "  shipper queue snapshot --es $ES_URL --setup\n\n"
        "  shipper queue snapshot --es $ES_URL --namespace prod --mta exim"
    )
)
@with_es_options
def snapshot(
    es_options: EsSettings,
    namespace: Annotated[str, typer.Option(help="Data stream namespace: metrics-mail.queue-<namespace>.")] = "default",
    run_setup: Annotated[bool, typer.Option("--setup", help="Install or update the templates first.")] = False,
    mta: MtaOption = MtaChoice.auto, saved: FromOption = None, mta_config: MtaConfigOption = None,
) -> None:  # fmt: skip
    """Write the queue into Elasticsearch: one document per message and a summary (counts per queue, total
    size, oldest age, top reasons) into metrics-mail.queue-<namespace>."""
    from elasticsearch import ApiError, TransportError, helpers

    from shipper.elastic.connection import describe_error
    from shipper.queue.snapshot import snapshot_docs

    if not es_options.configured:
        error("--es URL (or ES_URL, or --cloud-id) is required")
        raise typer.Exit(EXIT_USAGE)
    found_mta, messages = load_queue(mta, saved, mta_config)
    client = connect(es_options)
    ensure_templates(client, run_setup, lambda text: stderr().print(f"warning: {text}", markup=False))
    docs = snapshot_docs(messages, found_mta.name, namespace, datetime.now().astimezone())
    stream = f"metrics-mail.queue-{namespace}"
    try:
        _, errors_found = helpers.bulk(client, ({"_op_type": "create", "_index": stream, "_source": d} for d in docs),
                                  raise_on_error=False, refresh="wait_for")  # fmt: skip
    except (ApiError, TransportError) as exc:
        error(f"snapshot failed: {describe_error(exc)}")
        raise typer.Exit(EXIT_FAILED) from None
    errors: list[Any] = errors_found if isinstance(errors_found, list) else []
    if errors:
        error(f"{len(errors)} snapshot document(s) refused, first: {str(errors[0])[:300]}")
        raise typer.Exit(EXIT_FAILED)
    typer.echo(f"{stream}: {len(messages)} message(s) and a summary from the {found_mta.name} queue")


def _action(action: str, help_text: str, examples: str) -> None:
    @queue_app.command(action, help=help_text, epilog="Examples:\n\n" + examples)
    @with_es_options
    def command(
        es_options: EsSettings,
        ids: Annotated[list[str] | None, typer.Argument(help="Queue IDs (or select with the options).")] = None,
        everything: Annotated[bool, typer.Option("--all", help="Every message in the queue.")] = False,
        sender: Annotated[str | None, typer.Option(help="Messages from this address ('' = bounces).")] = None,
        recipient: Annotated[str | None, typer.Option(help="Messages to this address.")] = None,
        reason_category: Annotated[str | None, typer.Option(
            help="Messages whose reason has this category: " + ", ".join(categories()) + ".")] = None,
        older_than: Annotated[str | None, typer.Option(help="Messages queued at least this long (1h, 2d).")] = None,
        queue: Annotated[str | None, typer.Option(help="Messages in this queue (deferred, hold, frozen...).")] = None,
        yes: Annotated[bool, typer.Option("--yes", help="Do it; without it, only show what would be done.")] = False,
        no_audit: Annotated[bool, typer.Option(
            "--no-audit", help="With --yes and no --es: act with the audit events on stderr only.")] = False,
        namespace: Annotated[str, typer.Option(help="Audit stream logs-mail.queue_audit-<ns>.")] = "default",
        mta: MtaOption = MtaChoice.auto, saved: FromOption = None, mta_config: MtaConfigOption = None,
    ) -> None:  # fmt: skip
        run_action(action, es_options, ids or [], everything, sender, recipient, reason_category, older_than, queue,
                   yes, no_audit, namespace, mta, saved, mta_config)  # fmt: skip


def run_action(action: str, es_options: EsSettings, ids: list[str], everything: bool, sender: str | None,
               recipient: str | None, reason_category: str | None, older_than: str | None, queue: str | None,
               yes: bool, no_audit: bool, namespace: str, mta_choice: MtaChoice, saved: Path | None,
               mta_config: str | None) -> None:  # fmt: skip
    import uuid

    from shipper.queue.actions import Selection, audit_event, batches, run, select

    if reason_category is not None and reason_category not in categories():
        error(f"--reason-category: unknown category {reason_category!r}; known: {', '.join(categories())}")
        raise typer.Exit(EXIT_USAGE)
    selection = Selection(tuple(ids), everything, sender, recipient, reason_category,
                          parse_duration(older_than) if older_than else None, queue)  # fmt: skip
    if selection.empty():
        error(f"name the messages to {action}: queue IDs, --all, or --sender/--recipient/--reason-category/"
               "--older-than/--queue")  # fmt: skip
        raise typer.Exit(EXIT_USAGE)
    if yes and saved is not None:
        error("--from reads saved output: it can show what would be done, not do it (drop --yes)")
        raise typer.Exit(EXIT_USAGE)
    if yes and not es_options.configured and not no_audit:
        error("--yes writes an audit event to Elasticsearch before acting: give --es URL (or ES_URL, --cloud-id), "
               "or --no-audit to act with the audit on stderr only")  # fmt: skip
        raise typer.Exit(EXIT_USAGE)
    mta, messages = load_queue(mta_choice, saved, mta_config)
    bad = [i for i in ids if not mta.valid_id(i)]
    if bad:
        error(f"not {mta.name} queue IDs: {', '.join(printable(b) for b in bad[:10])}")
        raise typer.Exit(EXIT_USAGE)
    picked, absent = select(messages, selection)
    for queue_id in absent:
        error(f"{queue_id}: not in the {mta.name} queue")
    chosen = [m.queue_id for m in picked]
    try:
        planned = batches(mta, action, chosen, mta_config, everything and not selection.filtered()) if chosen else []
    except ValueError as exc:
        error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    if not planned:
        typer.echo(f"no message selected: nothing to {action}")
        raise typer.Exit(EXIT_FAILED if absent else EXIT_OK)
    typer.echo(f"{action}: {len(chosen)} message(s)")
    for m in picked:
        to = ", ".join(r.address for r in m.recipients)
        typer.echo(printable(f"  {m.queue_id}  {m.queue}  {human_age(m.age_seconds)}  <{m.sender}> -> {to}"))
    if not yes:
        for argv, _ in planned:
            typer.echo("would run: " + " ".join(argv))
        typer.echo("dry run: nothing was changed (add --yes to do it)")
        return
    audit_id = uuid.uuid4().hex
    argvs = [argv for argv, _ in planned]
    client = connect(es_options) if es_options.configured else None
    problem = _record(audit_event(mta, action, chosen, argvs, namespace, audit_id, 0), client)
    if problem:
        error(f"{problem}: nothing was done")
        raise typer.Exit(EXIT_FAILED)
    failed = False
    for number, (argv, batch_ids) in enumerate(planned, 1):
        outcome = run(argv)
        failed = failed or outcome.returncode != 0
        typer.echo(f"ran: {' '.join(outcome.argv)} -> exit {outcome.returncode}"
                   + (f": {printable(outcome.output)}" if outcome.output else ""))  # fmt: skip
        problem = _record(audit_event(mta, action, batch_ids, argvs, namespace, audit_id, number, [outcome]), client)
        if problem:
            left = len(planned) - number
            error(f"{problem}: stopped with {left} of {len(planned)} command(s) not run (batch {number} was)")
            raise typer.Exit(EXIT_FAILED)
    raise typer.Exit(EXIT_FAILED if failed or absent else EXIT_OK)


def _record(event: dict[str, Any], client: Any) -> str | None:
    """The audit event to stderr as JSON, always, and to Elasticsearch when one is configured: what went
    wrong there, or None."""
    sys.stderr.buffer.write(b"audit: " + orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE))
    sys.stderr.flush()
    if client is None:
        return None
    from elasticsearch import ApiError, TransportError

    from shipper.elastic.connection import describe_error

    stream = f"logs-mail.queue_audit-{event['data_stream']['namespace']}"
    try:
        client.index(index=stream, document=event, op_type="create", refresh="wait_for")
    except (ApiError, TransportError) as exc:
        return f"the audit event could not be written to {stream}: {describe_error(exc)}"
    return None


_action("delete", "Delete messages from the queue (postsuper -d, exim -Mrm). Dry run unless --yes.",
        "  shipper queue delete --sender spammer@example.net            # show what would go\n\n"
        "  shipper queue delete --reason-category 'unknown user' --older-than 2d --yes\n\n"
        "  shipper queue delete 4F9D2E3A1B --yes --es $ES_URL          # audit event indexed too")  # fmt: skip
_action(
    "hold",
    "Put messages on hold (postsuper -h, exim -Mf). Dry run unless --yes.",
    "  shipper queue hold --recipient ceo@example.com --yes",
)
_action(
    "release",
    "Release held messages (postsuper -H, exim -Mt). Dry run unless --yes.",
    "  shipper queue release --queue hold --yes",
)
_action(
    "requeue",
    "Requeue messages (postsuper -r, exim -M). Dry run unless --yes.",
    "  shipper queue requeue --reason-category 'relay authentication' --yes",
)
_action(
    "flush",
    "Try delivery now (postqueue -i ID / -f, exim -M ID / -qff, sendmail -qI). Dry run unless --yes.",
    "  shipper queue flush --all --yes\n\n  shipper queue flush 4F9D2E3A1B --yes",
)
