"""The same KQL gives the same events locally (`shipper grep` over the samples) and in Elasticsearch
(`shipper search --count` over what `shipper ingest` indexed from them)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import orjson
import pytest

from shipper.kibana.dashboards import load_dashboards, panel_request
from shipper.kibana.objects import load_source
from shipper.kibana.rules import load_rules, rule_body
from shipper.kql.dsl import to_dsl
from shipper.kql.parser import parse
from shipper.kql.types import cluster_types, offline_types
from tests.conftest import REFERENCE, ROOT
from tests.integration.conftest import shipper

OPTIONS = ["--timezone", "UTC", "--reference-date", REFERENCE.isoformat()]
QUERIES = [
    "event.category: authentication and event.outcome: failure",
    "mail.status: deferred",
    "mail.status: (bounced or expired)",
    "source.ip: 45.95.147.0/24",
    "mail.reject.reason: *spamhaus*",
    "mail.reject.reason.text: blocked",
    'message: "Connection refused"',
    "not event.outcome: success and event.dataset: mail.postfix",
    "email.to.address: *",
    "mail.delay >= 60",
    "tags: unparsed or tags: generic",
    "zen.spamhaus.org",
    'user.name: "root" or user.name: admin*',
    'mail.reason.category: (greylisting or "unknown user")',
    "process.name: postfix/smtpd and not source.ip: 127.0.0.0/8",
]


@pytest.fixture(scope="module")
def indexed(es_url: str, namespace: str) -> str:
    ns = namespace + "kql"
    status, _summary, stderr = shipper("ingest", "samples/", "--es", es_url, "--setup", "--namespace", ns, "--json",
                                       *OPTIONS)  # fmt: skip
    assert status == 0, stderr
    return ns


def _count(*args: str) -> int:
    done = subprocess.run([sys.executable, "-m", "shipper", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return int(done.stdout.strip())


@pytest.mark.parametrize("query", QUERIES)
def test_grep_and_search_agree_on_the_samples(indexed: str, es_url: str, query: str):
    local = _count("grep", query, "samples/", "--count", *OPTIONS)
    remote = _count("search", query, "--es", es_url, "--namespace", indexed, "--count")
    assert local == remote, (query, local, remote)


@pytest.fixture(scope="module")
def generated(es_url: str, namespace: str, tmp_path_factory) -> tuple[str, str]:
    """A generated busy-MX log (scripts/gen_postfix_log.py), ingested into a namespace of its own."""
    log = tmp_path_factory.mktemp("kql") / "mail.log"
    made = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_postfix_log.py"), "--lines", "20000",
                           "--seed", "11"], capture_output=True, check=True, timeout=300)  # fmt: skip
    log.write_bytes(made.stdout)
    ns = namespace + "kqlgen"
    status, _summary, stderr = shipper("ingest", str(log), "--es", es_url, "--setup", "--namespace", ns, "--json",
                                       *OPTIONS)  # fmt: skip
    assert status == 0, stderr
    return str(log), ns


@pytest.mark.parametrize("query", QUERIES)
def test_grep_and_search_agree_on_a_generated_log(generated: tuple[str, str], es_url: str, query: str):
    log, ns = generated
    local = _count("grep", query, log, "--count", *OPTIONS)
    remote = _count("search", query, "--es", es_url, "--namespace", ns, "--count")
    assert local == remote, (query, local, remote)


SAVED = load_source(ROOT / "kibana_dashboards" / "src" / "searches.yml")
PATTERNS = {"shipper-logs-mail": "logs-mail.*-{ns}", "shipper-mail-transactions": "mail-transactions-{ns}",
            "shipper-mail-queue": "metrics-mail.queue-{ns}"}  # fmt: skip
# the samples hold such events: a saved search that finds none of them is wrong (every sample line has a rule,
# no refused event, no queue action: those three find nothing here)
NONZERO = {"shipper-failed-logins", "shipper-deferred-mail", "shipper-bounces", "shipper-dnsbl-rejects",
           "shipper-smtp-rejects", "shipper-virus-found", "shipper-sasl-failures", "shipper-held-messages",
           "shipper-stuck-messages"}  # fmt: skip


@pytest.mark.parametrize("search", SAVED.searches, ids=lambda s: s.id)
def test_every_saved_search_runs_on_the_cluster_and_agrees_with_grep(indexed: str, es_url: str, search):
    """Each saved search's KQL on its data view (this run's namespace) runs without error; on line events it
    counts what `shipper grep` counts over the samples."""
    pattern = PATTERNS[search.data_view].format(ns=indexed)
    remote = _count("search", search.query, "--es", es_url, "--index", pattern, "--count")
    if search.data_view == "shipper-logs-mail":
        assert remote == _count("grep", search.query, "samples/", "--count", *OPTIONS), search.id
    assert (remote > 0) == (search.id in NONZERO), (search.id, remote)


RULES = load_rules(ROOT / "kibana_dashboards" / "src" / "rules.yml")


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_every_alert_rule_query_and_grouping_runs_on_the_cluster(indexed: str, es: Any, rule):
    """What the rule would ask, over all time instead of its window: its query (the DSL an es-query rule
    carries, the KQL filter of an index-threshold one, translated with the cluster's field types), and for
    a rule counting per term the terms aggregation on that field (aggregatable)."""
    index = rule.index.replace("*", f"*-{indexed}" if rule.index.startswith("logs-") else indexed, 1)
    body = rule_body(rule)
    if body["rule_type_id"] == ".es-query":
        query = orjson.loads(body["params"]["esQuery"])["query"]
    else:
        query = to_dsl(parse(body["params"]["filterKuery"]), cluster_types(es, index))
    aggs = {"per": {"terms": {"field": rule.group_by, "size": 10}}} if rule.group_by else None
    found = es.search(index=index, query=query, size=0, aggs=aggs, ignore_unavailable=True, allow_no_indices=True)
    assert found["_shards"]["failed"] == 0, rule.id
    if rule.id in ("shipper-brute-force", "shipper-deferral-spike", "shipper-virus-detected",
                   "shipper-local-delivery-down"):  # fmt: skip
        assert found["hits"]["total"]["value"] > 0, rule.id  # the samples hold such events
    if rule.id == "shipper-brute-force":
        buckets = found["aggregations"]["per"]["buckets"]
        assert buckets and buckets[0]["doc_count"] >= 10  # the samples' worst address


DASHBOARDS = load_dashboards(ROOT / "kibana_dashboards" / "src" / "dashboards.yml")
PANELS = [(d, p) for d in DASHBOARDS for p in d.panels]
# panels the samples leave empty: no queue snapshot or queue action is ingested, no line lacks a rule, no
# event is refused
EMPTY = {"Queued messages per queue", "Oldest message age (s)", "Queued messages by reason", "Queue actions",
         "Lines without a specific rule, per dataset and program", "Dead letters by error"}  # fmt: skip


def _buckets(aggs: dict[str, Any]) -> int:
    """Non-empty leaves of a panel's aggregation: buckets with documents (and a metric with a value)."""
    bucket = aggs.get("bucket")
    if bucket is None:
        metric = aggs.get("metric")
        return int(metric is None or metric.get("value") is not None or bool(metric.get("values")))
    return sum(_buckets(b) for b in bucket["buckets"] if b["doc_count"])


@pytest.mark.parametrize(("dashboard", "panel"), PANELS, ids=[f"{d.id}:{p.title}" for d, p in PANELS])
def test_every_dashboard_panel_aggregates_on_the_cluster(indexed: str, es: Any, dashboard, panel):
    """The aggregation Kibana's Lens sends for the panel, on the samples: it runs, and it has the buckets the
    samples give (a panel about what the samples hold must not come out empty)."""
    index = PATTERNS[panel.data_view].format(ns=indexed)
    request = panel_request(panel, cluster_types(es, index) or offline_types(), dashboard.query(panel))
    found = es.search(index=index, ignore_unavailable=True, allow_no_indices=True, **request)
    assert found["_shards"]["failed"] == 0, (dashboard.id, panel.title)
    filled = _buckets(found.get("aggregations") or {}) if found["hits"]["total"]["value"] else 0
    assert (filled > 0) == (panel.title not in EMPTY), (dashboard.id, panel.title, filled)
