"""The one duration syntax: the config, `--ttl`, `--retry-for` and `queue --older-than` read it alike."""

from __future__ import annotations

import pytest

from shipper.core.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("0", 0), ("1.5", 1.5), ("500ms", 0.5), ("30s", 30), ("15m", 900), ("1.5h", 5400), ("2d", 172800),
     ("1d2h30m", 95400), ("1m30s", 90), ("1h30m15s", 5415), (" 5s ", 5)],
)  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "s", "5x", "-5s", "30m1h", "1h1h", "5 s", "1h 30m", "1e3", "ms"])
def test_anything_else_names_the_syntax(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected a duration such as 90, 500ms, .* got"):
        parse_duration(text)


def test_every_command_line_duration_reads_the_same_syntax() -> None:
    from typer.testing import CliRunner

    from shipper.cli import app

    bad = CliRunner().invoke(app, ["transactions", "--ttl", "soon", "-"])
    assert bad.exit_code == 2 and "expected a duration such as" in bad.output
    queue = CliRunner().invoke(
        app, ["queue", "stuck", "--older-than", "1d2h", "--from", "/nonexistent", "--mta", "postfix"]
    )
    assert "expected a duration" not in queue.output
