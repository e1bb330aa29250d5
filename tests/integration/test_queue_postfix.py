"""`shipper queue` against a real Postfix (Debian's package, a throw-away instance on loopback whose mail
cannot leave, tests/queue/postfix_instance.py) and the real test Elasticsearch: list, stuck with reasons,
hints and log trails, snapshots with their mappings, and hold/release/delete for real with the audit event.

Needs root and the postfix package: .ci/run installs it and sets SHIPPER_REQUIRE_POSTFIX=1, which turns a
missing Postfix into a failure instead of a skip."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, require_real
from tests.queue.postfix_instance import PostfixInstance, available

MESSAGES = {  # sender -> (recipients, what keeps it queued)
    "alice@example.test": (["bob@remote.test", "carol@remote.test"], "connection refused"),
    "billing@example.test": (["ceo@sasl.test"], "relay authentication"),
    "zimbra@example.test": (["user@mailbox.test"], "mailbox server down"),
    "slow@example.test": (["x@silent.test"], None),  # being delivered: active, no reason yet
    "news@example.test": (["list@remote.test"], "connection refused"),
}


@pytest.fixture(scope="module")
def postfix() -> Iterator[PostfixInstance]:
    require_real("Postfix", available(), "SHIPPER_REQUIRE_POSTFIX")
    # not under pytest's tmp_path: that is root-only (0700), and Postfix's daemons run as `postfix`
    root = Path(tempfile.mkdtemp(prefix="shipper-postfix-"))
    root.chmod(0o755)
    instance = PostfixInstance(root)
    instance.start()
    try:
        for sender, (recipients, _) in MESSAGES.items():
            instance.submit(sender, recipients, f"from {sender}")
        instance.wait_settled(len(MESSAGES))
        yield instance
    finally:
        instance.stop()
        shutil.rmtree(root, ignore_errors=True)


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "shipper", "queue", *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env={**os.environ, "ES_URL": ""})  # fmt: skip
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def listing(postfix: PostfixInstance) -> dict[str, dict[str, Any]]:
    out = run("list", "--mta", "postfix", "--config-dir", str(postfix.conf), "--format", "json").stdout
    return {d["sender"]: d for d in map(json.loads, out.splitlines())}


def test_list_reads_the_real_queue(postfix: PostfixInstance):
    found = listing(postfix)
    assert set(found) == set(MESSAGES)
    for sender, (recipients, category) in MESSAGES.items():
        assert [r["address"] for r in found[sender]["recipients"]] == recipients
        assert found[sender]["category"] == category, found[sender]
    assert found["slow@example.test"]["queue"] == "active"
    assert found["alice@example.test"]["queue"] == "deferred"


def test_stuck_names_each_message_with_reason_hint_and_trail(postfix: PostfixInstance):
    time.sleep(1.1)  # queue times have whole seconds: every message is then at least 1s old (it once ran sooner)
    out = run("stuck", "--mta", "postfix", "--config-dir", str(postfix.conf), "--older-than", "1s",
              "--logs", str(postfix.maillog), "--format", "json").stdout  # fmt: skip
    items = {d["sender"]: d for d in map(json.loads, out.splitlines())}
    assert set(items) == set(MESSAGES)
    sasl = items["billing@example.test"]
    assert sasl["category"] == "relay authentication" and "smtp_sasl_password_maps" in sasl["hint"]
    assert "SASL authentication failed" in sasl["reason"]
    lmtp = items["zimbra@example.test"]
    assert lmtp["category"] == "mailbox server down" and "7025" in lmtp["hint"]
    for sender, item in items.items():
        lines = [t["line"] for t in item["trail"]]
        assert any(f"from=<{sender}>" in line for line in lines), (sender, lines)
        assert all(t["queue_id"] == item["queue_id"] for t in item["trail"])
    text = run("stuck", "--mta", "postfix", "--config-dir", str(postfix.conf), "--older-than", "1s",
               "--logs", str(postfix.maillog)).stdout  # fmt: skip
    assert "hint:     the relay (smarthost" in text and "log trail:" in text


def test_stuck_takes_the_trail_from_elasticsearch(postfix: PostfixInstance, es_url: str, namespace: str):
    """What `shipper ingest` (or `run`) indexed is enough: no log files needed on the machine asked."""
    ns = namespace + "trail"
    ingest = subprocess.run([sys.executable, "-m", "shipper", "ingest", str(postfix.maillog), "--es", es_url,
                             "--namespace", ns, "--setup", "--timezone", "UTC"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)  # fmt: skip
    assert ingest.returncode == 0, ingest.stderr
    done = subprocess.run([sys.executable, "-m", "shipper", "queue", "stuck", "--mta", "postfix", "--config-dir",
                           str(postfix.conf), "--older-than", "1s", "--es", es_url, "--namespace", ns,
                           "--format", "json"], capture_output=True, text=True, timeout=300, cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    items = {d["sender"]: d for d in map(json.loads, done.stdout.splitlines())}
    sasl = items["billing@example.test"]
    assert any("SASL authentication failed" in t["line"] for t in sasl["trail"])
    assert sasl["category"] == "relay authentication"


def test_snapshot_into_elasticsearch_with_its_types(postfix: PostfixInstance, es: Any, es_url: str, namespace: str):
    run("snapshot", "--mta", "postfix", "--config-dir", str(postfix.conf), "--es", es_url, "--namespace", namespace,
        "--setup")  # fmt: skip
    stream = f"metrics-mail.queue-{namespace}"
    docs = [h["_source"] for h in es.search(index=stream, size=100)["hits"]["hits"]]
    messages = [d for d in docs if d["mail"]["queue"]["doc"] == "message"]
    (summary,) = [d["mail"]["queue"] for d in docs if d["mail"]["queue"]["doc"] == "summary"]
    assert len(messages) == len(MESSAGES) and summary["messages"] == len(MESSAGES)
    assert summary["count"]["active"] == 1 and summary["count"]["deferred"] == 4
    assert summary["top_reasons"][0] == "connection refused"
    mapping = es.indices.get_mapping(index=stream)
    props = next(iter(mapping.values()))["mappings"]["properties"]
    queue = props["mail"]["properties"]["queue"]["properties"]
    assert queue["age"]["type"] == "long" and queue["arrival"]["type"] == "date"
    assert queue["count"]["properties"]["hold"]["type"] == "long"
    assert props["mail"]["properties"]["reason"]["properties"]["category"]["type"] == "keyword"
    assert next(iter(mapping.values()))["mappings"]["dynamic"] == "strict"  # our template's, not guessed
    hits = es.search(index=stream, query={"term": {"mail.reason.category": "relay authentication"}})["hits"]["hits"]
    assert [h["_source"]["email"]["from"]["address"] for h in hits] == [["billing@example.test"]]


def test_shipper_run_snapshots_the_queue_periodically(postfix: PostfixInstance, es: Any, es_url: str, namespace: str,
                                                      tmp_path: Path):  # fmt: skip
    from tests.integration.runner import Shipper

    ns = namespace + "run"
    queue_input = {"enabled": True, "interval": "1s", "mta": "postfix", "mta_config": str(postfix.conf)}
    service = Shipper(tmp_path, es_url, ns, [str(postfix.maillog)], queue=queue_input)
    service.start()
    stream = f"metrics-mail.queue-{ns}"
    try:
        deadline = time.monotonic() + 60
        summaries: list[dict[str, Any]] = []
        while time.monotonic() < deadline and len(summaries) < 2:
            time.sleep(1)
            if es.indices.exists(index=stream):
                es.indices.refresh(index=stream)
                found = es.search(index=stream, size=100, query={"term": {"mail.queue.doc": "summary"}})
                summaries = [h["_source"]["mail"]["queue"] for h in found["hits"]["hits"]]
    finally:
        assert service.stop() == 0, service.log()
    assert len(summaries) >= 2, service.log()  # one per interval, each a snapshot of its own
    assert len({s["snapshot_id"] for s in summaries}) == len(summaries)
    assert all(s["messages"] == len(MESSAGES) for s in summaries)
    assert "queue input: postfix queue every 1s" in service.log()


def test_hold_then_release_for_real(postfix: PostfixInstance):
    conf = str(postfix.conf)
    run("hold", "--mta", "postfix", "--config-dir", conf, "--sender", "news@example.test", "--yes", "--no-audit")
    assert listing(postfix)["news@example.test"]["queue"] == "hold"
    run("release", "--mta", "postfix", "--config-dir", conf, "--queue", "hold", "--yes", "--no-audit")
    assert listing(postfix)["news@example.test"]["queue"] != "hold"


def test_dry_run_then_delete_removes_exactly_the_selection(postfix: PostfixInstance, es: Any, es_url: str,
                                                           namespace: str):  # fmt: skip
    conf = str(postfix.conf)
    before = postfix.queue_ids()
    target = listing(postfix)["billing@example.test"]["queue_id"]
    dry = run("delete", "--mta", "postfix", "--config-dir", conf, "--reason-category", "relay authentication")
    assert f"would run: postsuper -c {conf} -d {target}" in dry.stdout
    assert postfix.queue_ids() == before  # nothing changed
    done = subprocess.run(
        [sys.executable, "-m", "shipper", "queue", "delete", "--mta", "postfix", "--config-dir", conf,
         "--reason-category", "relay authentication", "--yes", "--es", es_url, "--namespace", namespace],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert postfix.queue_ids() == before - {target}
    assert f"{target}: removed" in postfix.maillog.read_text()
    stream = f"logs-mail.queue_audit-{namespace}"
    hits = es.search(index=stream, size=10, sort=[{"event.sequence": "asc"}])["hits"]["hits"]
    intent, batch = [h["_source"] for h in hits]
    assert intent["event"]["sequence"] == 0 and intent["event"]["outcome"] == "unknown"  # written before acting
    assert batch["event"]["sequence"] == 1 and batch["event"]["outcome"] == "success"
    assert intent["mail"]["queue"]["audit_id"] == batch["mail"]["queue"]["audit_id"]
    for audit in (intent, batch):
        assert audit["event"]["action"] == "queue-delete" and audit["mail"]["queue"]["ids"] == [target]
        assert audit["user"]["name"] == "root" and f"-d {target}" in audit["process"]["command_line"]


def test_no_action_without_a_reachable_audit_destination(postfix: PostfixInstance):
    """The audit event is written before acting: a cluster that cannot take it means nothing is done."""
    before = postfix.queue_ids()
    args = ("delete", "--mta", "postfix", "--config-dir", str(postfix.conf), "--all", "--yes")
    refused = run(*args, check=False)
    assert refused.returncode == 2 and "--no-audit" in refused.stderr
    unreachable = run(*args, "--es", "http://127.0.0.1:9", check=False)
    assert unreachable.returncode != 0 and "cannot use Elasticsearch" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr and "audit:" not in unreachable.stderr
    assert postfix.queue_ids() == before


def test_unknown_ids_are_not_acted_on(postfix: PostfixInstance):
    before = postfix.queue_ids()
    done = run(
        "delete",
        "ABCDEF1234",
        "--mta",
        "postfix",
        "--config-dir",
        str(postfix.conf),
        "--yes",
        "--no-audit",
        check=False,
    )
    assert done.returncode == 1 and "ABCDEF1234: not in the postfix queue" in done.stderr
    assert postfix.queue_ids() == before
