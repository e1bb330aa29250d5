"""Which source's own file an input is, told by what its first lines say, when neither a forced source nor
the file's name decides: stdin, a sample file named anything, a rotated copy under another name.

Knowledge stays in the packs: a candidate is any pack with `paths` (it has files of its own), and its score
is the number of sample lines its specific (non-catch-all) rules take when the input is read as its file.
The input is the best candidate's when that one takes at least as many lines as the packs take by program
alone and no other candidate takes as many; a syslog file (every line claimed by its program) is never re-read as
someone's own file. Kerio's files share one layout and are told apart this way, by which pack's rules
recognise their lines; so are Exim's mainlog and Zimbra's log4j files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import islice

from shipper.parse.parser import GENERIC, UNPARSED, Parser

SAMPLE_LINES = 64


def detect_by_content(parser: Parser, texts: Iterable[str]) -> str | None:
    """The source whose own file these lines are, or None when programs decide (or nothing does)."""
    sample = [text for text in islice(texts, SAMPLE_LINES * 4) if text.strip()][:SAMPLE_LINES]
    if not sample:
        return None
    try:
        by_program = _specific(parser, sample, None)
        if by_program == len(sample):
            return None
        scores = [
            (_specific(parser, _laid_out(sample, runtime.pack.layout), runtime.pack.source, runtime.pack.dataset),
             runtime.pack.source)
            for runtime in parser.packs
            if runtime.pack.paths
        ]  # fmt: skip
        best = max(scores, default=(0, None))
        tied = sum(1 for score, _ in scores if score == best[0])
        # Kerio's debug, warning and error logs share one line shape: when their lines fit several packs alike,
        # the content does not tell, and programs decide.
        return best[1] if best[0] and best[0] >= by_program and tied == 1 else None
    finally:
        parser.set_path_source(None)


def _laid_out(sample: list[str], layout: str | None) -> list[str]:
    if layout is None:
        return sample
    start = re.compile(layout)
    return [text for text in sample if start.match(text)]


def _specific(parser: Parser, sample: list[str], source: str | None, dataset: str | None = None) -> int:
    """Lines of the sample a specific rule takes (of `dataset` only, when given) with `source` as the file's."""
    parser.set_path_source(source)
    score = 0
    for text in sample:
        doc, (found, rule) = parser.parse_doc(text)
        if rule is None or (dataset is not None and found != dataset):
            continue
        tags = doc.get("tags") or ()
        if GENERIC not in tags and UNPARSED not in tags:
            score += 1
    return score
