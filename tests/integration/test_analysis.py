"""Words inside host names and addresses are found: `spamhaus` finds `... blocked using zen.spamhaus.org`.

The index-time chain needs Elasticsearch's analysis-common module, which the test cluster's distribution
lacks (setup then drops it, with a note). So the chain is run here on the Lucene classes that module wraps,
from the test cluster's own lib/ (the same Lucene version), and the search side (`default_search`: the
standard tokenizer and lowercase, both in the server) is asked of the live cluster's `_analyze`: every
search token must be among the indexed tokens."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from shipper.elastic.templates import WORD_PARTS_ANALYSIS
from tests.conftest import ROOT

CASES = [
    ("554 5.7.1 Service unavailable; Client host [45.95.147.236] blocked using zen.spamhaus.org", "spamhaus"),
    ("554 5.7.1 Service unavailable; Client host [45.95.147.236] blocked using zen.spamhaus.org", "zen.spamhaus.org"),
    ("554 5.7.1 Service unavailable; Client host [45.95.147.236] blocked using zen.spamhaus.org", "45.95.147.236"),
    ("connect to mx.example.net[192.0.2.9]:25: Connection refused", "example"),
    ("connect to mx.example.net[192.0.2.9]:25: Connection refused", "mx.example.net"),
    ("<alice.smith@mail.example.org>: Recipient address rejected: User unknown", "smith"),
]


def _cluster() -> dict[str, Any]:
    done = subprocess.run([str(ROOT / "scripts" / "es-test-cluster"), "info"], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip("no test cluster distribution")
    return json.loads(done.stdout)


def _indexed(texts: list[str]) -> list[set[str]]:
    info = _cluster()
    java = Path(info["java_home"]) / "bin" / "java"
    source = ROOT / "tests" / "elastic" / "java" / "WordParts.java"
    done = subprocess.run([str(java), "-cp", f"{info['home']}/lib/*", str(source), *texts],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [set(line.split()) for line in done.stdout.splitlines()]


def test_the_chain_is_the_one_the_templates_declare():
    parts = WORD_PARTS_ANALYSIS["filter"]["mail_word_parts"]
    assert parts == {
        "type": "word_delimiter_graph",
        "preserve_original": True,
        "split_on_case_change": False,
        "split_on_numerics": False,
        "stem_english_possessive": False,
    }  # WordParts.java's flags
    assert WORD_PARTS_ANALYSIS["analyzer"]["default"]["filter"] == ["mail_word_parts", "flatten_graph", "lowercase"]


def test_a_word_of_a_host_name_finds_the_line_and_so_does_the_whole_name(es: Any):
    indexed = _indexed([text for text, _ in CASES])
    search = WORD_PARTS_ANALYSIS["analyzer"]["default_search"]
    for (text, query), tokens in zip(CASES, indexed, strict=True):
        asked = es.indices.analyze(tokenizer=search["tokenizer"], filter=search["filter"], text=query)
        wanted = {t["token"] for t in asked["tokens"]}
        assert wanted and wanted <= tokens, (query, text, sorted(tokens))
    plain = es.indices.analyze(analyzer="standard", text=CASES[0][0])  # what Elasticsearch indexes without it
    assert "spamhaus" not in {t["token"] for t in plain["tokens"]}
