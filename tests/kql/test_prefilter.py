"""`shipper grep` parses only the lines that pass its query's prefilter (shipper/kql/prefilter.py): sound only
if every event a query matches comes from a line that passes. Checked on every sample, every test log and
a simulated Postfix log, for a query on each value each event holds, and end to end: the same matches with
the prefilter as without, in one process and in several."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from shipper.core.event import flatten
from shipper.kql.ast import And, Is, Or, Value
from shipper.kql.evaluate import compile_query
from shipper.kql.parser import parse
from shipper.kql.prefilter import line_prefilter
from shipper.kql.types import offline_types
from shipper.parse.packs import load_packs
from shipper.pipeline.emit import ParseSettings
from shipper.pipeline.framing import Block
from shipper.pipeline.parallel import block_texts, parse_events
from tests.conftest import REFERENCE, ROOT, SAMPLES

TYPES = offline_types()
PACKS = load_packs()
LOGS = sorted(p for p in [*SAMPLES.rglob("*"), *(ROOT / "tests").rglob("*.log")]
              if p.is_file() and p.suffix not in (".json", ".md", ".yml", ".ndjson"))  # fmt: skip


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    from tests.mailsim import Simulation

    path = tmp_path_factory.mktemp("sim") / "mail.log"
    path.write_text(Simulation(seed=11, hours=6).run(1500).text())
    return path


def events(paths: list[Path], prefilter: Any = None, workers: int = 1) -> list[dict[str, Any]]:
    def inputs() -> Iterator[tuple[Path, Any]]:
        for path in paths:
            yield path, path.open("rb")

    settings = ParseSettings(timezone="UTC", reference=REFERENCE, prefilter=prefilter)
    return list(parse_events(inputs(), settings, workers=workers))


def leaves(event: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for name, value in flatten(event).items():
        for item in value if isinstance(value, list) else [value]:
            if item is not None and not isinstance(item, dict | list):
                yield name, str(item)


def test_every_event_passes_the_prefilter_of_every_query_on_its_own_values(simulated):
    cache: dict[str, Any] = {}
    tested, fields = 0, set()
    for event in events([*LOGS, simulated]):
        text = event["event"]["original"]
        own = list(leaves(event))
        queries = [Is(name, Value(value, quoted=True)) for name, value in own]
        queries += [Is(name, Value(f"{value[:3]}*", wildcard=True)) for name, value in own
                    if len(value) > 3 and not {"\\", "*"} & set(value[:3])]  # fmt: skip
        queries += [And(pair) for pair in itertools.islice(itertools.combinations(queries[:6], 2), 5)]
        queries += [Or((q, Is("mail.status", Value("bounced")))) for q in queries[:3]]
        for query in queries:
            key = repr(query)
            if key not in cache:
                cache[key] = line_prefilter(query, TYPES, PACKS)
            prefilter = cache[key]
            if prefilter is None:
                continue
            if not compile_query(query, TYPES)(event):
                continue  # a text field's words, an escape: not every shape matches its own value
            assert prefilter.admits(text), (query, prefilter.clauses, text)
            tested += 1
            if isinstance(query, Is):
                fields.add(query.field)
    # derived fields the line never spells are among them: the point of the prefilter
    wanted = {"event.outcome", "mail.reason.category", "event.action", "event.type", "mail.status", "process.name"}
    assert wanted <= fields
    assert tested > 20_000


QUERIES = [
    "mail.status: deferred",
    "event.outcome: failure and process.name: postfix/smtpd",
    'mail.reason.category: "connection timeout"',
    "event.category: authentication and event.outcome: failure",
    "email.to.address: *@example.com or mail.status: bounced",
    "event.action: smtp-reject and mail.reject.stage: RCPT",
    "mail.dsn: 5.1.1",
]


@pytest.mark.parametrize("query", QUERIES)
def test_grep_finds_the_same_events_with_and_without_the_prefilter(query, simulated):
    node = parse(query)
    prefilter = line_prefilter(node, TYPES, PACKS)
    assert prefilter is not None, "each of these queries has a test"
    matches = compile_query(node, TYPES)
    paths = [*LOGS, simulated]
    every = [e for e in events(paths) if matches(e)]
    assert every, "the query matches something: the comparison means something"
    assert [e for e in events(paths, prefilter) if matches(e)] == every
    assert [e for e in events([simulated], prefilter, workers=2) if matches(e)] == [
        e for e in every if e["event"]["original"] in simulated.read_text()
    ]


def test_queries_that_need_every_line_get_no_prefilter():
    needing_all = [
        "not mail.status: sent", "mail.size > 1000", "timeout", "mail.status: *", "related.ip: 10.0.0.1",
        "message: hello", "host.hostname: mx1", "mail.status: deferred or not event.outcome: success",
        "process.name: clamav", "process.name: q*",
    ]  # fmt: skip
    for query in needing_all:
        assert line_prefilter(parse(query), TYPES, PACKS) is None, query


def test_only_the_lines_that_may_match_are_decoded_and_they_decode_as_in_a_full_read():
    data = b"a deferred one\r\nnothing\nDEFERRED\x00 too\nx" + b"deferred " * 9000 + b"\n\xff deferred\n"
    block = Block(0, data)
    prefilter = line_prefilter(parse("mail.status: deferred"), TYPES, PACKS)
    full = list(block.texts())
    kept = list(block_texts(block, prefilter))
    assert kept == [t for t in full if "deferred" in t[0].lower()]  # the non-ASCII block: line by line
    ascii_block = Block(0, data.replace(b"\xff", b"f"))
    full = list(ascii_block.texts())
    assert list(block_texts(ascii_block, prefilter)) == [t for t in full if "deferred" in t[0].lower()]
    assert any("truncated" in tags for _, tags in full) and any("nul_bytes" in tags for _, tags in full)


def test_the_wrapped_re2_object_finds_what_the_bindings_public_search_finds(simulated):
    import re2

    from shipper.kql.prefilter import _lines, finder, public_finder

    prefilter = line_prefilter(parse("event.outcome: failure and process.name: postfix/smtpd"), TYPES, PACKS)
    options = re2.Options()
    options.case_sensitive = False
    compiled = [re2.compile(clause, options) for clause in prefilter.clauses]
    fast, public = [finder(c) for c in compiled], [public_finder(c) for c in compiled]
    assert isinstance(fast[0], partial)  # the binding has the object this version relies on
    data = simulated.read_bytes()
    found = _lines(data, fast[0], fast[1:])
    assert found == _lines(data, public[0], public[1:])
    assert found and len(found) < data.count(b"\n") / 10
    assert _lines(data, fast[1], fast[:1]) == found  # either clause first
    assert fast[0](b"", 0, 0)[0] == public[0](b"", 0, 0)[0] == (-1, -1)


def test_a_plain_literal_is_searched_as_bytes_and_finds_what_re2_finds(simulated):
    import re2

    from shipper.kql.prefilter import _lines, finder, literal_finder, plain_literal
    from shipper.parse.literals import escape

    options = re2.Options()
    options.case_sensitive = False
    data = simulated.read_bytes().lower()
    for text in ("postfix/smtpd", "Deferred", "status=sent", "NOQUEUE: reject:", "(", "none such"):
        literal = plain_literal(escape(text))
        assert literal == text.lower().encode()
        assert _lines(data, literal_finder(literal), []) == _lines(data, finder(re2.compile(escape(text), options)), [])
    assert plain_literal("status\\x3d.*sent") is None and plain_literal("(?:a|b)") is None
    assert plain_literal(escape("caf\u00e9")) is None  # non-ASCII goes to RE2, which reads it as UTF-8
    prefilter = line_prefilter(parse("process.name: postfix/smtpd"), TYPES, PACKS)
    assert prefilter is not None and prefilter.admits("Jan 1 00:00:00 mx POSTFIX/SMTPD[1]: connect")
    assert not prefilter.admits("Jan 1 00:00:00 mx postfix/smtp[1]: connect")
