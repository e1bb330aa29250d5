"""The conformance sets (lines from public sources, see measure.py): no source may get worse than its
recorded figures (baseline.json, a ratchet raised with `python3 -m tests.conformance.measure --baseline`),
and a source that reached the bar (at most 5% of lines generic or unparsed, at least 95% of expected
fields agreeing) must stay there."""

from __future__ import annotations

import json

import pytest

from tests.conformance.measure import BASELINE, TARGET_AGREEMENT_PCT, TARGET_GAPS_PCT, by_source, sets

FIGURES = by_source()
RECORDED = json.loads(BASELINE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("source", sorted(RECORDED))
def test_no_source_gets_worse(source: str) -> None:
    figures, recorded = FIGURES[source], RECORDED[source]
    assert figures.gaps_pct <= recorded["gaps_pct_max"] + 0.05, f"{source}: more generic/unparsed lines than before"
    assert figures.agreement_pct >= recorded["agreement_pct_min"] - 0.05, "\n".join(figures.disagreements)
    if recorded["done"]:
        assert figures.gaps_pct <= TARGET_GAPS_PCT and figures.agreement_pct >= TARGET_AGREEMENT_PCT


def test_every_source_is_recorded():
    assert set(FIGURES) == set(RECORDED)


@pytest.mark.parametrize("path", sets(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_set_says_where_it_comes_from(path) -> None:
    meta = json.loads(path.with_name(path.name + "-expected.json").read_text(encoding="utf-8"))
    provenance = meta["provenance"]
    assert {"project", "repository", "path", "commit"} <= set(provenance) and len(provenance["commit"]) == 40
    lines = path.read_text(encoding="utf-8").splitlines()
    assert all(1 <= int(n) <= len(lines) for n in meta["expected"])
