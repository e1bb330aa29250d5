"""A cluster under more load than it can take (scripts/es-test-cluster --tight: a write thread pool of one
thread and a queue of one). A bulk request across several shards then gets part of its items refused with
429 es_rejected_execution_exception while the rest are created: the per-item path of the bulk output,
which only a real cluster under pressure produces. Each test fails if no 429 came, so it cannot pass
without exercising that path."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tests.conftest import REFERENCE, SAMPLES, es_connection
from tests.integration.conftest import SCRIPT, shipper

SHARDS = 8  # shard requests dispatched at once by one bulk: one runs, one waits, the others are refused


def script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args, "--tight"], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def tight() -> Iterator[str]:
    started = False
    found = script("url")
    if found.returncode != 0:
        started = True
        found = script("start")
        if found.returncode != 0:
            pytest.fail(f"could not start the tight test Elasticsearch:\n{found.stderr}")
    yield found.stdout.strip().splitlines()[-1]
    if started:
        script("stop")


@pytest.fixture(scope="module")
def client(tight: str) -> Any:
    return es_connection([tight], environ={}).client()


def test_the_node_is_as_tight_as_promised(client):
    pools = [node["thread_pool"]["write"] for node in client.nodes.info(metric="thread_pool")["nodes"].values()]
    assert pools == [{"type": "fixed", "size": 1, "queue_size": 1}]


def test_items_refused_with_429_are_retried_until_every_one_is_indexed_once(client, namespace):
    from shipper.outputs.base import Record
    from shipper.outputs.elasticsearch import BulkSettings, BulkWriter

    index = f"overload-{namespace}"
    client.indices.create(index=index, settings={"number_of_shards": SHARDS, "number_of_replicas": 0})
    retries: list[str] = []
    settings = BulkSettings(initial_backoff=0.05, max_backoff=0.5, retry_for=120)
    writer = BulkWriter(client, settings, namespace, on_retry=retries.append)
    records = [Record(index, f"e{i}", orjson.dumps({"message": f"line {i}", "n": i})) for i in range(6000)]
    for start in range(0, len(records), settings.max_docs):
        writer.write(records[start : start + settings.max_docs])

    assert retries, "no item was refused: the node did not push back, nothing was tested"
    assert all("got 429/5xx" in message for message in retries)
    stats = writer.stats
    assert (stats.indexed, stats.failed, stats.dead_lettered, stats.already_present) == (6000, 0, 0, 0)
    assert stats.retries == len(retries)
    client.indices.refresh(index=index)
    assert client.count(index=index)["count"] == 6000  # the ids are distinct: each event once


def test_ingest_under_pushback_loses_nothing_and_a_replay_duplicates_nothing(tight, client, namespace, tmp_path):
    """More shards through the customization hook setup leaves (logs-mail@custom), as an operator would
    add them; ingest then meets per-item 429s, retries them, and exits 0 with every line indexed once."""
    code, _, err = shipper("setup", "--es", tight)
    assert code == 0, err
    client.cluster.put_component_template(name="logs-mail@custom", template={"settings": {"number_of_shards": SHARDS}})
    log = tmp_path / "postfix.log"
    log.write_bytes(b"".join(p.read_bytes() for p in sorted((SAMPLES / "postfix").glob("*.log"))))
    lines = log.read_bytes().count(b"\n")
    args = ("ingest", str(log), "--es", tight, "--namespace", namespace, "--json", "--timezone", "UTC",
            "--reference-date", REFERENCE.isoformat())  # fmt: skip

    code, summary, err = shipper(*args)
    assert code == 0, err
    assert summary["retries"] > 0, "no item was refused: the node did not push back, nothing was tested"
    assert "got 429/5xx" in err
    assert (summary["indexed"], summary["failed"], summary["dead_lettered"]) == (lines, 0, 0)
    streams = f"logs-mail.*-{namespace}"
    client.indices.refresh(index=streams)
    assert client.count(index=streams)["count"] == lines

    code, again, err = shipper(*args)
    assert code == 0, err
    assert (again["indexed"], again["already_present"], again["failed"]) == (0, lines, 0)
    client.indices.refresh(index=streams)
    assert client.count(index=streams)["count"] == lines
