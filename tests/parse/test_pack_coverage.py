"""Every pack's samples are matched by specific rules: none falls to a catch-all (`generic`), none is
unparsed, and the counting tells the three apart."""

from __future__ import annotations

import io

from shipper.parse.stats import Coverage, generic_rules
from shipper.pipeline.emit import ParseSettings
from shipper.pipeline.parallel import parse_inputs
from tests.conftest import REFERENCE, SAMPLES


def test_samples_are_matched_by_specific_rules():
    coverage = Coverage()
    for path in sorted(SAMPLES.glob("*/*.log")):
        with path.open("rb") as stream:  # as `shipper parse` reads it: the file's name may pick the pack
            for block in parse_inputs(iter([(path, stream)]), ParseSettings(timezone="UTC", reference=REFERENCE),
                                      io.BytesIO()):  # fmt: skip
                coverage.merge(block)
    rows = coverage.rows()
    assert "mail.other" not in {r.dataset for r in rows}, "a sample line no pack claims"
    assert len(rows) >= 12
    gaps = {r.dataset: (r.generic, r.unparsed) for r in rows if r.generic or r.unparsed}
    assert gaps == {}, "sample lines taken only by a catch-all or by nothing: give them a rule"


def test_every_catch_all_is_generic_and_counted_apart():
    assert ("mail.exim", "exim-other") in generic_rules()
    assert ("mail.postfix", "diagnostic-warning") not in generic_rules()
    coverage = Coverage()
    coverage.add("mail.exim", "exim-message", "exim")
    coverage.add("mail.exim", "exim-other", "exim")
    coverage.add("mail.exim", None, "exim")
    coverage.add("mail.exim", "exim-other", None)
    [row] = coverage.rows()
    assert (row.lines, row.matched, row.generic, row.unparsed) == (4, 1, 2, 1)
    assert {r.program: r.generic for r in coverage.rows(by_program=True)} == {None: 1, "exim": 1}
    assert coverage.matched["mail.exim"] == 1 and coverage.generic["mail.exim"] == 2


def test_catch_all_events_are_tagged_generic(parser):
    doc, (_, rule) = parser.parse_doc("Nov 28 10:00:00 mx sshd[1]: something sshd never said")
    assert rule == "sshd-other" and doc["tags"] == ["generic"]
    assert parser.parse("Nov 28 10:00:00 mx sshd[1]: something sshd never said").fields["tags"] == ["generic"]
