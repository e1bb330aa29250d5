"""Every pack's samples are matched by specific rules: at most 2% of a dataset's sample lines may fall to
its catch-all (the rule whose id ends in `-other`), none may be unparsed."""

from __future__ import annotations

from collections import Counter

from shipper.parse.parser import Parser
from shipper.pipeline.framing import read_lines
from tests.conftest import REFERENCE, SAMPLES


def test_samples_are_matched_by_specific_rules():
    parser = Parser(timezone="UTC", reference=REFERENCE)
    lines: Counter[str] = Counter()
    general: Counter[str] = Counter()
    for path in sorted(SAMPLES.glob("*/*.log")):
        parser.set_input(path)  # the file's name picks the pack for lines without a syslog program
        with path.open("rb") as stream:
            for text, tags in read_lines(stream):
                _, (dataset, rule) = parser.parse_doc(text, tags or None)
                lines[dataset] += 1
                if rule is None or rule.endswith("-other"):
                    general[dataset] += 1
    assert "mail.other" not in lines, "a sample line no pack claims"
    assert len(lines) >= 12
    too_general = {d: f"{general[d]}/{n}" for d, n in lines.items() if general[d] > 0.02 * n}
    assert too_general == {}
