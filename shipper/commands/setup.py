"""`shipper setup`: templates and ILM policy into Elasticsearch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from shipper.commands.common import EXIT_FAILED, EXIT_OK, connect, error, lifecycle_ages, print_setup, with_es_options

if TYPE_CHECKING:
    from shipper.elastic.connection import EsSettings


RolloverAgeOption = Annotated[str, typer.Option(help="ILM: roll a data stream's write index over at this age.")]
RolloverSizeOption = Annotated[str, typer.Option(help="ILM: ... or at this primary shard size.")]
DeleteAfterOption = Annotated[
    str, typer.Option(help="ILM: delete indices this long after rollover ('never' keeps them).")
]


@with_es_options
def setup(
    es_options: EsSettings,
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

    client = connect(es_options)
    try:
        report = run_setup(client, lifecycle_ages(rollover_age, rollover_size, delete_after), check_only=check)
    except (ApiError, TransportError) as exc:
        error(f"setup failed: {describe_error(exc)}")
        raise typer.Exit(EXIT_FAILED) from None
    print_setup(report, check)
    raise typer.Exit(EXIT_FAILED if check and report.drift else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command(
        epilog=(
            "Examples:\n\n"
            "  shipper setup --es http://localhost:9200\n\n"
            "  ES_API_KEY=... shipper setup --es https://es.example.net:9200 --delete-after 365d\n\n"
            "  shipper setup --es $ES_URL --check   # exit 1 if anything differs from this version's templates"
        )
    )(setup)
