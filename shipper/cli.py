"""The `shipper` command line: the commands of shipper/commands/, assembled."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from shipper import __version__, helpstyle
from shipper.commands import fields, ingest, parse, patterns, queue, report, run, search, setup, trace, transactions

helpstyle.apply()
app = typer.Typer(
    name="shipper",
    help="Mail-server logs and mail queues into the Elastic Stack.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    """The program's version, and those of what it ships as data: the pattern packs (how many, and a
    digest of their files) and the index templates (the content hash `setup --check` compares)."""
    if not value:
        return
    import hashlib

    from shipper.elastic.templates import content_hash, render
    from shipper.resources import grok_patterns_dir

    files = sorted(grok_patterns_dir().glob("*.yml"))
    digest = hashlib.sha256(b"".join(f.name.encode() + b"\0" + f.read_bytes() for f in files)).hexdigest()[:12]
    templates = content_hash({f"{kind}/{name}": body for (kind, name), body in render().items()})
    typer.echo(f"shipper {__version__}\npattern packs: {len(files)} ({digest})\nindex templates: {templates}")
    raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Mail-server logs and mail queues into the Elastic Stack."""


@app.command(hidden=True)
def manpage() -> None:
    """The manual page (roff), rendered from the commands' help: `shipper manpage > docs/shipper.1`."""
    from shipper.manpage import render

    typer.echo(render(app, __version__), nl=False)


for command in (parse, patterns, fields, setup, ingest, transactions, trace, report, search, run):
    command.register(app)
app.add_typer(queue.queue_app, name="queue")


def _click_class(name: str) -> type[Exception]:
    """click's exception classes, as the Typer in use has them (recent Typer vendors its own click)."""
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


def main() -> None:
    """Run the command. A usage mistake (unknown option or command, a value of the wrong type) is reported as
    every other error is: `error: ...` on one line, after the usage line, exit status 2; no framed box."""
    usage_error, click_error = _click_class("UsageError"), _click_class("ClickException")
    try:
        status = app(prog_name="shipper", standalone_mode=False)
    except usage_error as exc:
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            sys.stdout.write(ctx.get_help() + "\n")
            sys.exit(0)
        if ctx is not None:
            sys.stderr.write(ctx.get_usage() + f"\nTry '{ctx.command_path} -h' for help.\n")
        sys.stderr.write(f"error: {exc.format_message()}\n")  # type: ignore[attr-defined]
        sys.exit(getattr(exc, "exit_code", 2))
    except click_error as exc:
        sys.stderr.write(f"error: {exc.format_message()}\n")  # type: ignore[attr-defined]
        sys.exit(getattr(exc, "exit_code", 1))
    except typer.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(130)
    sys.exit(status if isinstance(status, int) else 0)


if __name__ == "__main__":
    main()
