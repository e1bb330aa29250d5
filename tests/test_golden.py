"""Golden files: every bundled sample parses to exactly the reviewed NDJSON under tests/golden/.

Regenerate with scripts/regen_golden.sh and review the diff by eye.
"""

from __future__ import annotations

import io

import orjson
import pytest

from shipper.parse.stats import Coverage
from shipper.pipeline.emit import ParseSettings
from shipper.pipeline.framing import read_lines
from shipper.pipeline.parallel import parse_inputs
from shipper.schema.contract import contract_errors
from tests.conftest import GOLDEN, REFERENCE, SAMPLES

SAMPLE_FILES = sorted(SAMPLES.glob("*/*.log"))


def parse_sample(path) -> tuple[bytes, Coverage]:
    """As `shipper parse` does it: the file's name may pick the pack and join its multi-line entries."""
    sink, coverage = io.BytesIO(), Coverage()
    with path.open("rb") as stream:
        for block in parse_inputs(iter([(path, stream)]), ParseSettings(timezone="UTC", reference=REFERENCE), sink):
            coverage.merge(block)
    return sink.getvalue(), coverage


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sample_matches_golden(sample):
    golden = GOLDEN / sample.parent.name / f"{sample.name}-expected.ndjson"
    got, _ = parse_sample(sample)
    expected = golden.read_bytes()
    if got != expected:
        for n, (a, b) in enumerate(zip(got.splitlines(), expected.splitlines(), strict=False), 1):
            assert orjson.loads(a) == orjson.loads(b), f"{sample.name} line {n} differs from {golden.name}"
        assert len(got.splitlines()) == len(expected.splitlines())


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sample_coverage_and_contract(sample):
    out, coverage = parse_sample(sample)
    docs = [orjson.loads(line) for line in out.splitlines()]
    lines = sample.read_text().splitlines()
    assert [ln for d in docs for ln in d["event"]["original"].split("\n")] == lines  # every line, in order
    matched = sum(coverage.matched.values())
    assert matched / coverage.total >= 0.99, coverage.rows()
    for n, doc in enumerate(docs, 1):
        assert contract_errors(doc) == [], f"{sample.name} line {n}"
        assert "@timestamp" in doc or "no_envelope" in doc.get("tags", [])  # freshclam.log's separator lines


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fast_path_equals_reference_semantics(parser, sample):
    """parse_doc (generated per-rule code) and parse (generic flat path) agree on every sample line."""
    from shipper.core.event import nest

    for text, tags in read_lines(io.BytesIO(sample.read_bytes())):
        parsed = parser.parse(text, tags or None)
        assert parser.parse_doc(text, tags or None) == (nest(parsed.fields), (parsed.dataset, parsed.rule)), text
