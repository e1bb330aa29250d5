"""The same KQL gives the same events locally (`shipper grep` over the samples) and in Elasticsearch
(`shipper search --count` over what `shipper ingest` indexed from them)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from shipper.kibana.objects import load_source
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
