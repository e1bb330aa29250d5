"""The `shipper` command line: the commands of shipper/commands/, assembled."""

from __future__ import annotations

from typing import Annotated

import typer

from shipper import __version__
from shipper.commands import fields, ingest, parse, patterns, queue, report, run, setup, trace, transactions

app = typer.Typer(
    name="shipper",
    help="Mail-server logs and mail queues into the Elastic Stack.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


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


for command in (parse, patterns, fields, setup, ingest, transactions, trace, report, run):
    command.register(app)
app.add_typer(queue.queue_app, name="queue")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
