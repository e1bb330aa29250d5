"""`shipper check-patterns`: every pack compiled, every example line run."""

from __future__ import annotations

from typing import Annotated

import typer

from shipper.commands.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, error


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
        error(str(exc))
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


def register(app: typer.Typer) -> None:
    app.command("check-patterns", epilog="Example:\n\n  shipper check-patterns")(check_patterns)
