"""A three-node cluster (scripts/es-test-cluster --nodes 3: the same distribution, loopback ports, one
replica) losing nodes while `shipper run` and `shipper ingest` write to it: first a node that is not the
master, which then comes back with the data it had (stale by then), then the master. Every line must be
in the cluster exactly once, and `shipper run` must get through it without a restart."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, es_connection
from tests.integration.conftest import SCRIPT
from tests.integration.runner import Shipper, Writer, generated_lines, indexed, wait_for


def cluster_script(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, str(SCRIPT), *args, "--nodes", "3"], capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def cluster() -> Any:
    started = subprocess.run([sys.executable, str(SCRIPT), "url", "--nodes", "3"], capture_output=True).returncode
    if started != 0:
        cluster_script("start")
    yield json.loads(cluster_script("info").stdout)
    if started != 0:
        cluster_script("stop")


def master(es: Any) -> str:
    return es.cat.master(format="json")[0]["node"]


def ingest(path: Path, urls: list[str], namespace: str) -> subprocess.Popen[str]:
    hosts = [arg for url in urls for arg in ("--es", url)]
    return subprocess.Popen(
        [sys.executable, "-m", "shipper", "ingest", str(path), *hosts, "--namespace", namespace, "--json",
         "--no-transactions", "--batch-size", "500", "--timezone", "UTC", "--retry-for", "300"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip


def finished(process: subprocess.Popen[str]) -> tuple[int, dict[str, Any], str]:
    out, err = process.communicate(timeout=600)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    return process.returncode, json.loads(lines[-1]) if lines else {}, err


def test_losing_a_node_then_the_master_loses_and_duplicates_nothing(cluster, namespace, tmp_path):
    urls = [node["url"] for node in cluster["nodes"]]
    es = es_connection(urls, environ={}).client()
    run_ns, ingest_ns = namespace + "c3run", namespace + "c3ingest"
    log = tmp_path / "mail.log"
    log.touch()
    output = {"elasticsearch": {"hosts": urls, "namespace": run_ns, "setup": True, "request_timeout": "5s",
                                "max_backoff": "1s"}}  # fmt: skip
    shipper = Shipper(tmp_path, urls[0], run_ns, [str(log)], output=output, transactions={"enabled": False})
    shipper.start()
    writer = Writer(log, generated_lines(200_000, seed=41), per_second=600)
    writer.start()
    assert wait_for(es, shipper, 1000) >= 1000
    batches = [tmp_path / "first.log", tmp_path / "second.log"]
    for seed, path in enumerate(batches, 42):
        path.write_bytes(b"".join(generated_lines(120_000, seed=seed)))
    faults: list[str] = []

    def lose(name: str, ingesting: Path) -> dict[str, Any]:
        """Kill `name` a few seconds into an ingest of `ingesting`, and start it again with its old data."""
        process = ingest(ingesting, urls, ingest_ns)
        time.sleep(4)
        cluster_script("kill-node", name)
        faults.append(name)
        time.sleep(6)  # writes go on without it: its primaries' replicas take over
        cluster_script("start-node", name)
        status, summary, stderr = finished(process)
        assert status == 0, stderr[-3000:]
        return summary

    everyone = {node["name"] for node in cluster["nodes"]}
    first = lose(sorted(everyone - {master(es)})[0], batches[0])
    second = lose(master(es), batches[1])
    writer.stopped.set()
    writer.join()
    assert faults[0] != faults[1]
    for summary in (first, second):
        assert summary["lines_read"] == 120_000 and summary["failed"] == 0 and summary["dead_lettered"] == 0
        assert summary["indexed"] + summary["already_present"] == 120_000
    es.indices.refresh(index=f"logs-mail.*-{ingest_ns}")
    assert es.count(index=f"logs-mail.*-{ingest_ns}")["count"] == 240_000  # all of both, none twice
    written = writer.written
    assert wait_for(es, shipper, written, timeout=300) == written, shipper.log()[-3000:]
    time.sleep(2)
    assert indexed(es, run_ns) == written
    assert shipper.alive() and shipper.stop() == 0  # the same process all along
    print(f"node loss: run {written} lines, ingest 2 x 120000 lines; killed {faults}")
