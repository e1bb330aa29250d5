"""Against a real Elasticsearch: setup, ingest, idempotence, typed mappings, analyst queries, dead letters,
and an outage in the middle of an ingest."""

from __future__ import annotations

import gzip
import ipaddress
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest

from shipper.elastic.templates import LifecycleAges
from shipper.outputs.base import Record
from shipper.outputs.elasticsearch import BulkSettings, BulkWriter
from shipper.parse.parser import Parser
from shipper.pipeline.framing import read_lines
from tests.conftest import REFERENCE, ROOT, SAMPLES, es_connection
from tests.integration.conftest import shipper
from tests.integration.proxy import CuttableProxy

PARSE_OPTIONS = ["--timezone", "UTC", "--reference-date", REFERENCE.isoformat()]
SAMPLE_FILES = sorted((SAMPLES).rglob("*.log"))


def count(es: Any, index: str, query: dict | None = None) -> int:
    body = {"query": query} if query else None
    return es.count(index=index, body=body, ignore_unavailable=True, allow_no_indices=True)["count"]


def count_while_created(es: Any, index: str) -> int:
    """Count while shipper may be creating the data stream: a shard not started yet answers 503."""
    from elasticsearch import ApiError

    try:
        es.indices.refresh(index=index, allow_no_indices=True, ignore_unavailable=True)
        return count(es, index)
    except ApiError as exc:
        if exc.status_code == 503:
            return 0
        raise


def sample_texts(path: Path) -> list[tuple[str, list[str]]]:
    """A sample's events as ingest reads them: lines, or (for a pack with multiline events, such as Zimbra's
    mailbox.log) the lines of one entry joined."""
    from shipper.parse.multiline import Grouper
    from shipper.parse.packs import load_packs
    from shipper.parse.parser import detect_source
    from shipper.pipeline.framing import decode_line

    packs = load_packs()
    source = detect_source(path, packs)
    spec = next((p.multiline for p in packs if p.source == source and p.multiline), None)
    if spec is None:
        with path.open("rb") as stream:
            return [(text, tags) for text, tags in read_lines(stream)]
    grouper, groups, offset = Grouper(spec), [], 0
    for raw in path.read_bytes().splitlines(keepends=True):
        groups += grouper.feed(offset, offset + len(raw), raw.rstrip(b"\n"))
        offset += len(raw)
    groups += grouper.flush(force=True)
    out = []
    for group in groups:
        tags = ["multiline"] if group.lines > 1 else []
        out.append((decode_line(group.raw, tags), tags))
    return out


def sample_events() -> list[dict[str, Any]]:
    """The events the samples give, parsed and enriched here as ingest does (delivery lines carry their
    message's sender, client, ...): the oracle the cluster's answers are checked against."""
    from shipper.core.event import flatten
    from shipper.enrich.correlate import Correlator
    from shipper.parse.packs import load_packs

    parser = Parser(timezone="UTC", reference=REFERENCE)
    correlator = Correlator(load_packs())
    events = []
    for path in SAMPLE_FILES:
        parser.set_input(path)
        for text, tags in sample_texts(path):
            doc = parser.parse_doc(text, tags or None)[0]
            correlator.join(doc)
            events.append(flatten(doc))
    return events


@pytest.fixture(scope="module")
def ingested(es_url: str, namespace: str) -> dict[str, Any]:
    status, summary, stderr = shipper("ingest", "samples/", "--es", es_url, "--setup", "--namespace", namespace,
                                      "--json", *PARSE_OPTIONS)  # fmt: skip
    assert status == 0, stderr
    return summary


def test_setup_is_idempotent_and_reports_drift(es_url: str, es: Any):
    first = subprocess.run([sys.executable, "-m", "shipper", "setup", "--es", es_url], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    second = subprocess.run([sys.executable, "-m", "shipper", "setup", "--es", es_url], capture_output=True, text=True)
    states = {line.split()[0] for line in second.stdout.splitlines() if line.split()}
    assert states <= {"unchanged", "skipped"}, second.stdout
    check = subprocess.run([sys.executable, "-m", "shipper", "setup", "--es", es_url, "--check"], capture_output=True)
    assert check.returncode == 0

    es.cluster.put_component_template(name="logs-mail@settings", template={"settings": {"index.codec": "default"}})
    drift = subprocess.run(
        [sys.executable, "-m", "shipper", "setup", "--es", es_url, "--check"], capture_output=True, text=True
    )
    assert drift.returncode == 1
    assert "differs    component  logs-mail@settings" in drift.stdout
    fixed = subprocess.run([sys.executable, "-m", "shipper", "setup", "--es", es_url], capture_output=True, text=True)
    assert "updated    component  logs-mail@settings" in fixed.stdout
    settings = es.cluster.get_component_template(name="logs-mail@settings")["component_templates"][0]
    assert settings["component_template"]["template"]["settings"]["index"]["codec"] == "best_compression"


def test_setup_adapts_to_what_the_cluster_offers(es: Any):
    from shipper.elastic.setup import detect_capabilities, run_setup

    caps = detect_capabilities(es)
    report = run_setup(es, LifecycleAges(), check_only=True)
    if not caps.ilm:
        assert ("ilm", "logs-mail", "skipped") in report.results
        assert any("ILM is not available" in note for note in report.notes)
    mapping = es.cluster.get_component_template(name="logs-mail@mappings")["component_templates"][0]
    message = mapping["component_template"]["template"]["mappings"]["properties"]["message"]
    assert message["type"] == ("match_only_text" if caps.lacks("match_only_text") is None else "text")


def test_ingest_loads_every_sample_line(ingested: dict[str, Any], es: Any, namespace: str):
    """Every line is in the cluster: as an event of its own, or within its multi-line entry's event."""
    lines = sum(len(sample_texts(path)) for path in SAMPLE_FILES)
    assert ingested["files"] == len(SAMPLE_FILES)
    assert ingested["lines_read"] == lines
    assert ingested["indexed"] == lines
    assert ingested["failed"] == ingested["dead_lettered"] == ingested["already_present"] == 0
    assert count(es, f"logs-mail.*-{namespace}") == lines


def test_mappings_are_typed_and_strict(ingested: dict[str, Any], es: Any, namespace: str):
    mapping = next(iter(es.indices.get_mapping(index=f"logs-mail.postfix-{namespace}").body.values()))["mappings"]
    props = mapping["properties"]
    assert mapping["dynamic"] == "strict"
    assert props["@timestamp"]["type"] == "date"
    assert props["source"]["properties"]["ip"]["type"] == "ip"
    assert props["mail"]["properties"]["delay"]["type"] == "float"
    assert props["mail"]["properties"]["size"]["type"] == "long"
    assert props["email"]["properties"]["local_id"]["type"] == "keyword"
    assert props["log"]["properties"]["offset"]["type"] == "long"
    assert props["event"]["properties"]["original"]["index"] is False


def test_transactions_land_with_stable_ids_and_reingest_updates_them(ingested, es: Any, es_url: str, namespace: str):
    index = f"mail-transactions-{namespace}"
    es.indices.refresh(index=index)
    before = es.count(index=index)["count"]
    assert before == ingested["transactions"] > 0
    mapping = next(iter(es.indices.get_mapping(index=index).body.values()))["mappings"]
    assert mapping["dynamic"] == "strict"
    hop = es.search(index=index, query={"term": {"email.local_id": "F7AC86D66C"}})["hits"]["hits"]
    assert [h["_source"]["email"]["local_id"] for h in hop] == [["092F073FF8", "F7AC86D66C"]]
    status, _summary, stderr = shipper("ingest", "samples/", "--es", es_url, "--namespace", namespace, "--json",
                                    *PARSE_OPTIONS)  # fmt: skip
    assert status == 0, stderr
    es.indices.refresh(index=index)
    assert es.count(index=index)["count"] == before  # replaced by _id, never duplicated


def test_reingesting_creates_no_duplicates(ingested: dict[str, Any], es: Any, es_url: str, namespace: str, tmp_path):
    before = count(es, f"logs-mail.*-{namespace}")
    status, again, stderr = shipper("ingest", "samples/", "--es", es_url, "--namespace", namespace, "--json",
                                    *PARSE_OPTIONS)  # fmt: skip
    assert status == 0, stderr
    assert again["indexed"] == 0
    assert again["already_present"] == ingested["lines_read"]
    # the same log after logrotate renamed and compressed it
    rotated = tmp_path / "mail.log.2.gz"
    rotated.write_bytes(gzip.compress((SAMPLES / "postfix" / "mail.log").read_bytes()))
    status, summary, stderr = shipper("ingest", str(rotated), "--es", es_url, "--namespace", namespace, "--json",
                                      *PARSE_OPTIONS)  # fmt: skip
    assert status == 0, stderr
    assert summary["indexed"] == 0 and summary["already_present"] == summary["lines_read"] > 0
    assert count(es, f"logs-mail.*-{namespace}") == before


def test_stdin_twice_is_indexed_once(es: Any, es_url: str, namespace: str):
    data = (SAMPLES / "postfix" / "varied.log").read_bytes()
    stream_ns = namespace + "stdin"
    for expected_new in (data.count(b"\n"), 0):
        status, summary, stderr = shipper("ingest", "-", "--es", es_url, "--namespace", stream_ns, "--json",
                                          *PARSE_OPTIONS, input=data)  # fmt: skip
        assert status == 0, stderr
        assert summary["indexed"] == expected_new
    assert count(es, f"logs-mail.*-{stream_ns}") == data.count(b"\n")


@pytest.mark.parametrize(
    ("kql", "query_string", "predicate"),
    [
        ("email.local_id: 5B2A2B11EF", "email.local_id:5B2A2B11EF", lambda e: e.get("email.local_id") == "5B2A2B11EF"),
        ("mail.status: deferred", "mail.status:deferred", lambda e: e.get("mail.status") == "deferred"),
        (
            'email.from.address: "carol@example.test"',
            'email.from.address:"carol@example.test"',
            lambda e: "carol@example.test" in e.get("email.from.address", []),
        ),
        (
            "event.outcome: failure and source.ip: 193.32.162.0/24",
            'event.outcome:failure AND source.ip:"193.32.162.0/24"',
            lambda e: (
                e.get("event.outcome") == "failure"
                and "source.ip" in e
                and ipaddress.ip_address(e["source.ip"]) in ipaddress.ip_network("193.32.162.0/24")
            ),
        ),
        (
            "source.ip: 2001:db8:bad::/48",
            'source.ip:"2001:db8:bad::/48"',
            lambda e: (
                "source.ip" in e and ipaddress.ip_address(e["source.ip"]) in ipaddress.ip_network("2001:db8:bad::/48")
            ),
        ),
        ("mail.delay > 5", "mail.delay:>5", lambda e: e.get("mail.delay", 0) > 5),
        (
            'email.from.address: "dave@example.com" and mail.status: deferred',
            'email.from.address:"dave@example.com" AND mail.status:deferred',
            lambda e: "dave@example.com" in e.get("email.from.address", []) and e.get("mail.status") == "deferred",
        ),
        (
            "mail.reason.category: greylisting",
            'mail.reason.category:"greylisting"',
            lambda e: e.get("mail.reason.category") == "greylisting",
        ),
        ('message: "Greylisted"', 'message:"Greylisted"', lambda e: "Greylisted" in e.get("message", "")),
    ],
)
def test_analyst_queries_return_the_expected_events(ingested, es: Any, namespace: str, kql, query_string, predicate):
    """Each KQL query an analyst would type, run as the equivalent query_string, against the oracle."""
    expected = sum(1 for event in sample_events() if predicate(event))
    assert expected > 0, f"the samples should contain events for {kql}"
    query = {"query_string": {"query": query_string, "default_operator": "AND"}}
    assert count(es, f"logs-mail.*-{namespace}", query) == expected, kql


def test_a_refused_event_lands_in_the_dead_letter_stream(es: Any, namespace: str):
    writer = BulkWriter(es, BulkSettings(), namespace)
    good = {"@timestamp": "2026-11-28T10:00:00Z", "message": "fine", "data_stream": {"type": "logs",
            "dataset": "mail.postfix", "namespace": namespace}}  # fmt: skip
    wrong_type = {**good, "message": "bad port", "source": {"port": "not-a-number"}}
    unknown_field = {**good, "message": "unknown field", "mail": {"no_such_field": 1}}
    index = f"logs-mail.postfix-{namespace}"
    batch = [Record(index, f"dl-{i}", orjson.dumps(doc)) for i, doc in enumerate((good, wrong_type, unknown_field))]
    writer.write(batch)
    assert writer.stats.indexed == 1
    assert writer.stats.dead_lettered == 2
    assert writer.stats.failed == 0
    es.indices.refresh(index=f"logs-mail.deadletter-{namespace}")
    letters = es.search(index=f"logs-mail.deadletter-{namespace}")["hits"]["hits"]
    letters.sort(key=lambda hit: hit["_id"])
    assert [hit["_id"] for hit in letters] == ["dl-1", "dl-2"]
    types = [hit["_source"]["error"]["type"] for hit in letters]
    assert types == ["document_parsing_exception", "strict_dynamic_mapping_exception"]
    assert orjson.loads(letters[0]["_source"]["event"]["original"]) == wrong_type
    assert letters[1]["_source"]["mail"]["deadletter"] == {"index": index, "status": 400}
    writer.write(batch)  # replayed: nothing new, no second dead letter
    es.indices.refresh(index=f"logs-mail.*-{namespace}")
    assert count(es, f"logs-mail.deadletter-{namespace}") == 2


def test_an_outage_mid_ingest_is_retried_and_nothing_is_lost(es: Any, es_url: str, namespace: str, tmp_path: Path):
    log = tmp_path / "big.log"
    with log.open("wb") as out:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_postfix_log.py"), "--lines", "30000"],
                       stdout=out, check=True)  # fmt: skip
    lines = log.read_bytes().count(b"\n")
    target = urlsplit(es_url)
    proxy = CuttableProxy(target.hostname or "127.0.0.1", target.port or 9200)
    proxy.up()
    outage_ns = namespace + "outage"
    result: dict[str, Any] = {}

    def run() -> None:
        result["out"] = shipper("ingest", str(log), "--es", proxy.url, "--setup", "--namespace", outage_ns,
                                "--batch-size", "500", "--json", *PARSE_OPTIONS)  # fmt: skip

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 120
    while count_while_created(es, f"logs-mail.*-{outage_ns}") < 2000 and time.monotonic() < deadline:
        assert worker.is_alive(), "ingest finished before the outage could happen"
        time.sleep(0.2)
    assert worker.is_alive(), "ingest finished before the outage could happen"
    proxy.down()
    time.sleep(4)
    proxy.up()
    worker.join(300)
    status, summary, stderr = result["out"]
    assert status == 0, stderr
    assert summary["retries"] >= 1, "the outage was not noticed"
    assert "connection failed" in stderr and "retrying" in stderr
    assert summary["failed"] == 0
    assert summary["indexed"] + summary["already_present"] == lines  # each line exactly one outcome
    es.indices.refresh(index=f"logs-mail.*-{outage_ns}")
    assert count(es, f"logs-mail.*-{outage_ns}") == lines


def test_an_unreachable_cluster_fails_clearly():
    status, _, stderr = shipper("ingest", "samples/", "--es", "http://127.0.0.1:1", "--json")
    assert status == 1
    assert "cannot use Elasticsearch at http://127.0.0.1:1" in stderr


def test_hostile_lines_are_indexed_not_refused(es: Any, es_url: str, namespace: str, tmp_path: Path):
    """Whatever a log holds, its event fits the mappings: nothing lands in the dead-letter stream."""
    lines = [
        b'<34>1 2026-11-28T10:00:00Z mx postfix/smtpd 123 - [x@1 p="' + b"A" * 40_000 + b'"] connect from x[192.0.2.1]',
        b"Nov 28 10:00:00 mx postfix/smtpd[1]: " + b"B" * 40_000,
        b"Nov 28 10:00:01 mx postfix/smtpd[1]: connect from bad\xff\xfeutf8[192.0.2.2]",
        b"Nov 28 10:00:02 mx postfix/smtpd[1]: nul\x00byte",
        b"Nov 28 10:00:03 mx postfix/smtpd[1]: " + b"C" * 70_000,
        b"",
        b"Nov 28 10:00:04 mx postfix/smtpd[1]: disconnect from x[192.0.2.1]\r",
        b"Nov 28 10:00:05 mx postfix/qmgr[2]: 4AB12CD: from=<" + b"d" * 2000 + b"@x>, size=1, nrcpt=1 (queue active)",
    ]
    log = tmp_path / "hostile.log"
    log.write_bytes(b"\n".join(lines) + b"\n")
    hostile_ns = namespace + "hostile"
    status, summary, stderr = shipper("ingest", str(log), "--es", es_url, "--setup", "--namespace", hostile_ns,
                                      "--json", *PARSE_OPTIONS)  # fmt: skip
    assert status == 0, stderr
    assert summary["indexed"] == len(lines)
    assert summary["dead_lettered"] == 0
    assert count(es, f"logs-mail.deadletter-{hostile_ns}") == 0


def test_trace_from_elasticsearch_explains_a_message_stuck_on_a_smarthost(es_url: str, namespace: str, tmp_path):
    from tests.enrich.test_trace import LATER, STUCK

    older, current = tmp_path / "mail.log.1.gz", tmp_path / "mail.log"
    older.write_bytes(gzip.compress(STUCK))
    current.write_bytes(LATER)
    ns = namespace + "trace"
    status, _summary, stderr = shipper("ingest", str(older), str(current), "--es", es_url, "--namespace", ns,
                                       "--setup", "--json", *PARSE_OPTIONS)  # fmt: skip
    assert status == 0, stderr
    for query in ("5E6F7A8B90", "<order-4711@example.com>", "client@example.net"):
        done = subprocess.run([sys.executable, "-m", "shipper", "trace", query, "--es", es_url, "--namespace", ns],
                              capture_output=True, text=True, cwd=ROOT, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        out = done.stdout
        assert "message 5E6F7A8B90 on mx (postfix): deferred (still in the queue or cut off)" in out
        assert out.count("5E6F7A8B90: to=<client@example.net>") == 2  # both attempts, from both files
        assert "diagnosis: relay authentication" in out and "smtp_sasl_password_maps" in out
        assert "1A1A1A1A1A" not in out
    args = ["trace", "FFFFFFFFFF", "--es", es_url, "--namespace", ns]
    missing = subprocess.run([sys.executable, "-m", "shipper", *args], capture_output=True, text=True, cwd=ROOT)
    assert missing.returncode == 1 and "no message matches" in missing.stderr


def test_trace_from_elasticsearch_pages_through_every_message_and_says_how_many(es_url: str, namespace: str,
                                                                             tmp_path):  # fmt: skip
    """47 messages from one sender: all are shown (not the first page of 20), the count is said, --limit cuts
    and says so, and --format json gives one transaction per line with its lines."""
    lines = []
    for i in range(47):
        qid = f"7{i:09X}"
        lines += [f"Nov 28 10:{i:02d}:00 mx postfix/qmgr[1]: {qid}: from=<bulk@example.com>, size=10, nrcpt=1 (queue active)",
                  f"Nov 28 10:{i:02d}:01 mx postfix/smtp[2]: {qid}: to=<r{i}@example.net>, relay=mx.example.net[192.0.2.9]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)",
                  f"Nov 28 10:{i:02d}:01 mx postfix/qmgr[1]: {qid}: removed"]  # fmt: skip
    log = tmp_path / "bulk.log"
    log.write_text("\n".join(lines) + "\n")
    ns = namespace + "paging"
    status, _summary, stderr = shipper("ingest", str(log), "--es", es_url, "--namespace", ns, "--setup", "--json",
                                       *PARSE_OPTIONS)  # fmt: skip
    assert status == 0, stderr
    base = [sys.executable, "-m", "shipper", "trace", "bulk@example.com", "--es", es_url, "--namespace", ns]
    every = subprocess.run([*base, "--limit", "0"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert every.returncode == 0, every.stderr
    assert "47 message(s) match; all shown" in every.stderr
    assert every.stdout.count("\nmessage ") + every.stdout.startswith("message ") == 47
    some = subprocess.run([*base, "--limit", "30", "--format", "json"], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)  # fmt: skip
    assert some.returncode == 0, some.stderr
    assert "47 message(s) match; the first 30 shown (--limit)" in some.stderr
    docs = [orjson.loads(line) for line in some.stdout.splitlines()]
    assert len(docs) == 30 and len({d["email"]["local_id"][0] for d in docs}) == 30
    assert [d["@timestamp"] for d in docs] == sorted(d["@timestamp"] for d in docs)
    assert all(d["mail"]["status"] == "sent" and len(d["lines"]) == 3 for d in docs)


def test_reasons_chart_as_terms_and_their_words_are_searchable(ingested: dict[str, Any], es: Any, namespace: str):
    """What a Kibana bar chart of reject reasons and deferral replies asks: a terms aggregation (it failed with
    `Fielddata is disabled` on text); and a word in them found through `.text`."""
    index = f"logs-mail.*-{namespace}"
    for name in ("mail.reject.reason", "mail.response", "mail.reason.text", "mail.text"):
        found = es.search(index=index, size=0, aggs={"top": {"terms": {"field": name, "size": 5}}})
        assert found["_shards"]["failed"] == 0, name
        assert found["aggregations"]["top"]["buckets"], name
    words = es.search(index=index, size=0, query={"match": {"mail.response.text": "refused"}})
    exact = es.search(index=index, size=0, query={"wildcard": {"mail.response": "*refused*"}})
    assert words["hits"]["total"]["value"] == exact["hits"]["total"]["value"] > 0
    deliveries = es.search(index=f"mail-transactions-{namespace}", size=0,
                           aggs={"r": {"terms": {"field": "mail.recipients.response"}}})  # fmt: skip
    assert deliveries["aggregations"]["r"]["buckets"]


def test_geoip_locations_are_geo_points_a_map_can_query(es_url: str, es: Any, namespace: str, tmp_path):
    from tests.enrich.test_geoip import ASN, CITY, write_db

    city = write_db(tmp_path / "city.mmdb", "GeoLite2-City", {"81.2.69.0/24": CITY})
    asn = write_db(tmp_path / "asn.mmdb", "GeoLite2-ASN", {"81.2.69.0/24": ASN})
    log = tmp_path / "mail.log"
    log.write_text("Nov 28 10:00:00 mx postfix/smtpd[1]: connect from unknown[81.2.69.160]\n")
    ns = namespace + "geo"
    status, _summary, stderr = shipper("ingest", str(log), "--es", es_url, "--namespace", ns, "--setup", "--json",
                                       "--geoip", str(city), "--geoip", str(asn), *PARSE_OPTIONS)  # fmt: skip
    assert status == 0, stderr
    index = f"logs-mail.*-{ns}"
    near = {"geo_distance": {"distance": "50km", "source.geo.location": {"lat": 51.5, "lon": -0.1}}}
    assert count(es, index, near) == 1
    far = {"geo_distance": {"distance": "50km", "source.geo.location": {"lat": 40.7, "lon": -74.0}}}
    assert count(es, index, far) == 0
    found = es.search(index=index, size=0, aggs={"as": {"terms": {"field": "source.as.organization.name"}}})
    assert [b["key"] for b in found["aggregations"]["as"]["buckets"]] == ["Andrews & Arnold Ltd"]


AUTH_SOURCES = {"mail.postfix", "mail.dovecot", "mail.cyrus", "mail.sendmail", "mail.exim", "mail.kerio.security",
                "mail.auth.sshd", "mail.auth.sudo", "mail.auth.su", "mail.auth.pam"}  # fmt: skip


def test_one_query_finds_failed_logins_from_every_source(ingested, es: Any, namespace: str):
    """`event.category: authentication and event.outcome: failure` finds the failed logins of every source,
    with the same source.ip and user.name a local parse gives, once per attempt."""
    query = {"query_string": {"query": "event.category:authentication AND event.outcome:failure"}}
    found = es.search(index=f"logs-mail.*-{namespace}", query=query, size=1000,
                      source=["event.dataset", "source.ip", "user.name"])["hits"]["hits"]  # fmt: skip
    got = sorted(
        (
            h["_source"]["event"]["dataset"],
            h["_source"].get("source", {}).get("ip"),
            h["_source"].get("user", {}).get("name"),
        )
        for h in found
    )
    expected = sorted(
        (e["event.dataset"], e.get("source.ip"), e.get("user.name"))
        for e in sample_events()
        if "authentication" in e.get("event.category", []) and e.get("event.outcome") == "failure"
    )
    assert got == expected
    assert {dataset for dataset, _, _ in got} >= AUTH_SOURCES
    remote = {d for d, ip, user in got if ip and user}
    assert remote >= AUTH_SOURCES - {"mail.postfix", "mail.auth.sudo", "mail.auth.su", "mail.auth.pam"}


def test_every_source_indexes_without_mapping_failures(ingested, es: Any, namespace: str):
    """Every pack's samples land in their own data stream, every line (other tests here add Postfix lines)."""
    assert ingested["dead_lettered"] == 0 and ingested["failed"] == 0
    per_dataset = Counter(e["event.dataset"] for e in sample_events())
    assert {"mail.amavis", "mail.clamav", "mail.freshclam", "mail.spamassassin", "mail.dovecot"} <= set(per_dataset)
    for dataset, lines in per_dataset.items():
        indexed = count(es, f"logs-{dataset}-{namespace}")
        assert indexed >= lines if dataset == "mail.postfix" else indexed == lines, dataset


def test_ingest_of_a_directory_skips_planted_symbolic_links(es: Any, es_url: str, namespace: str, tmp_path: Path):
    """`ln -s /etc/shadow current.log` in a log directory a daemon owns must not put /etc/shadow in the
    cluster; the same link named on the command line is the user's own choice and is read."""
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$planted-secret:19000:0:99999:7:::\n")
    logs = tmp_path / "exim4"
    logs.mkdir()
    (logs / "mainlog").write_text("2026-11-28 10:00:00 1xXSD6-0000Wm-0Y Completed\n")
    (logs / "current.log").symlink_to(secret)
    link_ns = namespace + "links"
    status, summary, stderr = shipper("ingest", str(logs), "--es", es_url, "--namespace", link_ns, "--json",
                                      "--no-transactions")  # fmt: skip
    assert status == 0, stderr
    assert summary["lines_read"] == 1 and "current.log: a symbolic link, not followed" in stderr
    es.indices.refresh(index=f"logs-mail.*-{link_ns}")
    found = es.search(index=f"logs-mail.*-{link_ns}", q='message:"planted-secret"')["hits"]["total"]["value"]
    assert found == 0
    status, summary, _ = shipper("ingest", str(logs / "current.log"), "--es", es_url, "--namespace", link_ns,
                                 "--json", "--no-transactions")  # fmt: skip
    assert status == 0 and summary["lines_read"] == 1


def test_a_node_that_is_down_does_not_fail_a_request_another_node_can_take(es_url: str):
    import socket

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{closed.getsockname()[1]}"
    client = es_connection([down, es_url], environ={}).client()
    for _ in range(6):  # whichever node the pool picks first
        assert client.cluster.health()["status"] in ("green", "yellow")
    status, _, stderr = shipper("setup", "--check", "--es", down, "--es", es_url)
    assert status in (0, 1) and "cannot use Elasticsearch" not in stderr
