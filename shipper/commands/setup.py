"""`shipper setup`: templates and ILM policy into Elasticsearch."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipper.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    connect,
    error,
    lifecycle_ages,
    print_setup,
    with_es_options,
)

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
    kibana: Annotated[
        str | None,
        typer.Option(help="Also into this Kibana: data views, saved searches and alert rules. Env: KIBANA_URL."),
    ] = None,
    kibana_space: Annotated[str, typer.Option(help="The Kibana space to import into.")] = "default",
    kibana_user: Annotated[
        str | None, typer.Option(help="Kibana basic-auth user (env KIBANA_USERNAME); password from KIBANA_PASSWORD.")
    ] = None,
    kibana_api_key_file: Annotated[
        Path | None, typer.Option(help="File holding a Kibana API key (or env KIBANA_API_KEY).")
    ] = None,
    kibana_ca_file: Annotated[Path | None, typer.Option(help="CA certificate(s) to trust for Kibana (PEM).")] = None,
    export: Annotated[
        Path | None,
        typer.Option(
            help="Write the exact Kibana bodies (NDJSON, one JSON per rule) into this directory; send nothing."
        ),
    ] = None,
) -> None:
    """Install or update shipper's ILM policy, component and index templates (idempotent); with --kibana,
    also its data views, saved searches and alert rules (disabled) into Kibana.

    Adapts to the cluster: without ILM the templates carry no lifecycle; field types a cluster cannot map
    (match_only_text, wildcard, constant_keyword) fall back to text/keyword, and a note says so.
    """
    import os

    if export is not None:
        _export(export)
        raise typer.Exit(EXIT_OK)
    kibana = kibana or os.environ.get("KIBANA_URL") or None
    if es_options.configured or kibana is None:
        _setup_elasticsearch(es_options, check, lifecycle_ages(rollover_age, rollover_size, delete_after))
    if kibana is not None and not check:
        _setup_kibana(kibana, kibana_space, kibana_user, kibana_api_key_file, kibana_ca_file)
    raise typer.Exit(EXIT_OK)


def _setup_elasticsearch(es_options: EsSettings, check: bool, ages: object) -> None:
    from elasticsearch import ApiError, TransportError

    from shipper.elastic.connection import describe_error
    from shipper.elastic.setup import run_setup

    client = connect(es_options)
    try:
        report = run_setup(client, ages, check_only=check)  # type: ignore[arg-type]
    except (ApiError, TransportError) as exc:
        error(f"setup failed: {describe_error(exc)}")
        raise typer.Exit(EXIT_FAILED) from None
    print_setup(report, check)
    if check and report.drift:
        raise typer.Exit(EXIT_FAILED)


def _kibana_bundle() -> tuple[bytes, list[Any]]:
    from shipper.kibana.rules import load_rules
    from shipper.resources import data_dir

    directory = data_dir("kibana_dashboards")
    return (directory / "shipper-saved-objects.ndjson").read_bytes(), load_rules(directory / "src" / "rules.yml")


def _export(directory: Path) -> None:
    from shipper.kibana.install import export

    ndjson, rules = _kibana_bundle()
    for path in export(directory, ndjson, rules):
        typer.echo(str(path))


def _setup_kibana(url: str, space: str, user: str | None, api_key_file: Path | None, ca_file: Path | None) -> None:
    import os

    from shipper.elastic.connection import ConnectionSettingsError, read_secret, redact
    from shipper.kibana.install import KibanaError, KibanaSettings, install

    try:
        api_key = read_secret(api_key_file, "Kibana API key").get_secret_value() if api_key_file else None
    except ConnectionSettingsError as exc:
        error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    username = user or os.environ.get("KIBANA_USERNAME") or None
    password = os.environ.get("KIBANA_PASSWORD") or None
    if username and not password and not api_key:
        error(f"Kibana user {username!r} has no password: set KIBANA_PASSWORD (or give --kibana-api-key-file)")
        raise typer.Exit(EXIT_USAGE)
    settings = KibanaSettings(url=url, space=space, username=username, password=password,
                              api_key=api_key or os.environ.get("KIBANA_API_KEY") or None, ca_file=ca_file)  # fmt: skip
    ndjson, rules = _kibana_bundle()
    try:
        done = install(settings, ndjson, rules)
    except KibanaError as exc:
        error(str(exc))
        raise typer.Exit(EXIT_FAILED) from None
    typer.echo(f"Kibana {redact(url)} (space {space}): {done.objects} saved object(s) imported or updated;"
               f" rules created: {len(done.rules_created)}, updated: {len(done.rules_updated)} (disabled until"
               " you enable them)")  # fmt: skip
    for verb, ids in (("created", done.rules_created), ("updated", done.rules_updated)):
        for rule_id in ids:
            typer.echo(f"  rule {verb}: {rule_id}")


def register(app: typer.Typer) -> None:
    app.command(
        epilog=(
            "Examples:\n\n"
            "  shipper setup --es http://localhost:9200\n\n"
            "  ES_API_KEY=... shipper setup --es https://es.example.net:9200 --delete-after 365d\n\n"
            "  shipper setup --es $ES_URL --check   # exit 1 if anything differs from this version's templates\n\n"
            "  KIBANA_API_KEY=... shipper setup --es $ES_URL --kibana https://kibana.example.net:5601\n\n"
            "  shipper setup --export kibana-objects/   # the files setup --kibana would send"
        )
    )(setup)
