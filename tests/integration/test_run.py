"""`shipper run` as a real process against the real test cluster: kill -9 and restart, Elasticsearch stopped
and continued, rename / copytruncate / gzip rotations under a writer, a last line without newline, a file
that appears later, a bad config. Success means Elasticsearch holds every line written exactly once."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.integration.conftest import SCRIPT
from tests.integration.runner import Shipper, Writer, generated_lines, indexed, wait_for


def test_kill_9_mid_file_then_restart_ships_every_line_once(es, es_url, run_ns, tmp_path):
    lines = generated_lines(60_000)
    log = tmp_path / "mail.log"
    log.write_bytes(b"".join(lines))
    shipper = Shipper(tmp_path, es_url, run_ns, [str(log)])
    shipper.start()
    assert wait_for(es, shipper, 15_000) >= 15_000
    assert indexed(es, run_ns) < len(lines), "the whole file was shipped before the kill: make it larger"
    shipper.kill9()
    registry = json.loads((tmp_path / "registry.json").read_text())
    assert 0 < registry["files"][0]["offset"] < log.stat().st_size  # confirmed part only
    shipper.start()
    assert wait_for(es, shipper, len(lines)) == len(lines)
    assert shipper.stop() == 0
    assert indexed(es, run_ns) == len(lines)  # nothing twice: the replayed tail came back as already present
    assert "already present" in shipper.log()
    status = subprocess.run([sys.executable, "-m", "shipper", "status", "-c", str(shipper.config)],
                            capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert f"{log.stat().st_size:>14} {log.stat().st_size:>14} {0:>12}  following {log}" in status.stdout


def test_rotations_under_a_writer_lose_and_duplicate_nothing(es, es_url, run_ns, tmp_path):
    lines = generated_lines(12_000, seed=12)
    log = tmp_path / "mail.log"
    log.write_bytes(lines[0])
    shipper = Shipper(tmp_path, es_url, run_ns, [str(tmp_path / "mail.log*")])
    shipper.start()
    deadline = time.monotonic() + 60
    while "following from offset" not in shipper.log() and time.monotonic() < deadline:
        time.sleep(0.1)  # the rotations below must happen under a running shipper
    writer = Writer(log, lines[1:], per_second=3000)
    writer.start()

    writer.wait_written(2500)  # rename rotation: the daemon writes on to the renamed file until it reopens
    os.rename(log, tmp_path / "mail.log.1")
    writer.wait_written(2700)
    writer.reopen.set()

    writer.wait_written(6000)  # copytruncate, done between two writes (outside the documented race)
    with writer.lock:
        shutil.copy(log, tmp_path / "mail.log.2")
        os.truncate(log, 0)
    copied = (tmp_path / "mail.log.2").read_bytes().count(b"\n")

    writer.wait_written(8000)  # the first rotation is compressed, the plain copy removed
    rotated = tmp_path / "mail.log.1"
    (tmp_path / "mail.log.1.gz").write_bytes(gzip.compress(rotated.read_bytes()))
    rotated.unlink()

    writer.join()
    written = writer.written + 1
    assert written == len(lines)
    assert wait_for(es, shipper, len(lines)) == len(lines), shipper.log()[-3000:]
    time.sleep(2)  # anything read twice under other ids would show up now
    assert indexed(es, run_ns) == len(lines)
    assert shipper.stop() == 0
    text = shipper.log()
    assert "renamed" in text and "truncated" in text
    # the copy was finished from the offset the original had been confirmed to, not read from its start, and
    # the compressed rotation was not read at all: only lines not yet confirmed at the truncation (the
    # queue's worth when shipper keeps up) were sent twice, and came back as already present
    present = int(text.rsplit("already present ", 1)[1].split(",")[0])
    assert present < copied, text[-2000:]


def test_elasticsearch_stopped_for_a_while_loses_nothing_and_memory_stays_flat(es, es_url, run_ns, tmp_path):
    found = subprocess.run([sys.executable, str(SCRIPT), "info"], capture_output=True, text=True)
    if found.returncode != 0 or not json.loads(found.stdout).get("pid"):
        pytest.skip("the cluster is not our test node ($ES_URL elsewhere): cannot stop it")
    pid = json.loads(found.stdout)["pid"]
    lines = generated_lines(20_000, seed=13)
    log = tmp_path / "mail.log"
    log.touch()
    shipper = Shipper(tmp_path, es_url, run_ns, [str(log)], queue_batches=2)
    shipper.start()
    writer = Writer(log, lines, per_second=2000)
    writer.start()
    writer.wait_written(3000)
    assert wait_for(es, shipper, 1000) >= 1000
    os.killpg(pid, signal.SIGSTOP)  # the whole node: launcher and server JVM
    try:
        rss = []
        for _ in range(16):  # 8 s away while lines keep coming
            time.sleep(0.5)
            rss.append(shipper.rss_mib())
    finally:
        os.killpg(pid, signal.SIGCONT)
    writer.join()
    assert wait_for(es, shipper, len(lines), timeout=180) == len(lines), shipper.log()[-3000:]
    assert shipper.stop() == 0
    assert indexed(es, run_ns) == len(lines)
    assert "retrying" in shipper.log()
    assert max(rss) < 250, f"RSS while Elasticsearch was away: {rss}"
    print(f"RSS while Elasticsearch was away: {min(rss):.0f}-{max(rss):.0f} MiB")


def test_a_last_line_without_newline_is_shipped_after_the_timeout(es, es_url, run_ns, tmp_path):
    log = tmp_path / "mail.log"
    log.write_bytes(b"".join(generated_lines(10, seed=14)) + b"Nov 28 10:00:00 mx postfix/qmgr[1]: no newline here")
    shipper = Shipper(tmp_path, es_url, run_ns, [str(log)])
    shipper.start()
    assert wait_for(es, shipper, 11, timeout=60) == 11
    assert shipper.stop() == 0
    hits = es.search(index=f"logs-mail.*-{run_ns}", q='message:"no newline here"')["hits"]["hits"]
    assert len(hits) == 1


def test_a_file_that_appears_later_under_the_glob_is_followed(es, es_url, run_ns, tmp_path):
    (tmp_path / "logs").mkdir()
    first = tmp_path / "logs" / "a.log"
    first.write_bytes(b"".join(generated_lines(100, seed=15)))
    shipper = Shipper(tmp_path, es_url, run_ns, [str(tmp_path / "logs" / "*.log")], start_position="end")
    shipper.start()
    time.sleep(2)  # start_position end: what a.log held is not shipped
    later = tmp_path / "logs" / "b.log"
    later.write_bytes(b"".join(generated_lines(50, seed=16)))  # a new file is read from its start
    with first.open("ab") as f:
        f.write(b"".join(generated_lines(5, seed=17)))
    assert wait_for(es, shipper, 55, timeout=60) == 55
    time.sleep(1)
    assert indexed(es, run_ns) == 55
    assert shipper.stop() == 0


def test_a_config_with_mistakes_is_one_clear_message_and_exit_2(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("output:\n  elasticsearch: {hosts: [http://127.0.0.1:9200], batch_size: -1}\nscan_interval: 1x\n")
    done = subprocess.run([sys.executable, "-m", "shipper", "run", "-c", str(bad)], capture_output=True, text=True)
    assert done.returncode == 2
    assert f"{bad}: output.elasticsearch.batch_size" in done.stderr
    assert f"{bad}: scan_interval: expected a duration" in done.stderr
    assert "Traceback" not in done.stderr


def test_sighup_reloads_inputs(es, es_url, run_ns, tmp_path):
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    first.write_bytes(b"".join(generated_lines(30, seed=18)))
    second.write_bytes(b"".join(generated_lines(20, seed=19)))
    shipper = Shipper(tmp_path, es_url, run_ns, [str(first)])
    shipper.start()
    assert wait_for(es, shipper, 30, timeout=60) == 30
    settings = json.loads(shipper.config.read_text())
    settings["inputs"][0]["paths"].append(str(second))
    shipper.config.write_text(json.dumps(settings))
    assert shipper.process is not None
    shipper.process.send_signal(signal.SIGHUP)
    assert wait_for(es, shipper, 50, timeout=60) == 50
    time.sleep(2.5)  # one status line (status_interval 2s)
    assert shipper.stop() == 0
    assert "SIGHUP: reloaded" in shipper.log()
    assert "status: " in shipper.log() and "lag: " in shipper.log()


def test_sigterm_while_elasticsearch_is_away_stops_within_the_deadline(es, es_url, run_ns, tmp_path):
    found = subprocess.run([sys.executable, str(SCRIPT), "info"], capture_output=True, text=True)
    if found.returncode != 0 or not json.loads(found.stdout).get("pid"):
        pytest.skip("the cluster is not our test node ($ES_URL elsewhere): cannot stop it")
    pid = json.loads(found.stdout)["pid"]
    log = tmp_path / "mail.log"
    log.write_bytes(b"".join(generated_lines(20_000, seed=20)))
    shipper = Shipper(tmp_path, es_url, run_ns, [str(log)], shutdown_timeout="3s", queue_batches=2)
    shipper.start()
    assert wait_for(es, shipper, 1000) >= 1000
    os.killpg(pid, signal.SIGSTOP)
    try:
        time.sleep(1)
        started = time.monotonic()
        assert shipper.stop(timeout=60) == 0
        took = time.monotonic() - started
    finally:
        os.killpg(pid, signal.SIGCONT)
    assert took < 3 + 3 + 5, f"SIGTERM took {took:.1f}s with shutdown_timeout 3s"  # deadline, request timeout, join
    registry = json.loads((tmp_path / "registry.json").read_text())
    confirmed = registry["files"][0]["offset"]
    assert 0 < confirmed < log.stat().st_size
    shipper.start()  # the rest comes on the next start, nothing twice
    assert wait_for(es, shipper, 20_000) == 20_000
    assert shipper.stop() == 0
    assert indexed(es, run_ns) == 20_000


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_prometheus_metrics_on_localhost(es, es_url, run_ns, tmp_path):
    import urllib.request

    log = tmp_path / "mail.log"
    log.write_bytes(b"".join(generated_lines(40, seed=23)))
    port = free_port()
    shipper = Shipper(
        tmp_path, es_url, run_ns, [str(log)], metrics={"enabled": True, "port": port}, transactions={"enabled": False}
    )  # events_total would count message documents too
    shipper.start()
    assert wait_for(es, shipper, 40, timeout=60) == 40
    deadline = time.monotonic() + 10
    while True:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
        if 'shipper_events_total{outcome="indexed"} 40.0' in text or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert shipper.stop() == 0
    assert "shipper_lines_read_total 40.0" in text
    assert 'shipper_events_total{outcome="indexed"} 40.0' in text
    assert f'shipper_file_lag_bytes{{path="{log}"}} 0.0' in text


def umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_ndjson_file_output_is_fsynced_before_the_registry_moves(tmp_path):
    log = tmp_path / "mail.log"
    log.write_bytes(b"".join(generated_lines(25, seed=24)))
    out = tmp_path / "events.ndjson"
    shipper = Shipper(tmp_path, "http://unused", "x", [str(log)], output={"file": {"path": str(out)}})
    shipper.start()
    deadline = time.monotonic() + 30
    while (not out.exists() or out.read_bytes().count(b"\n") < 25) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    assert shipper.stop() == 0
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(events) == 25
    assert events[0]["log"]["file"]["path"] == str(log) and events[0]["log"]["offset"] == 0
    registry = json.loads((tmp_path / "registry.json").read_text())
    assert registry["files"][0]["offset"] == log.stat().st_size
    assert oct(out.stat().st_mode & 0o777) == oct(0o640 & ~umask())  # log content: never world-readable
    assert oct((tmp_path / "registry.json").stat().st_mode & 0o777) == oct(0o600)


def test_elasticsearch_restarted_during_a_run_loses_nothing(es, es_url, run_ns, tmp_path):
    found = subprocess.run([sys.executable, str(SCRIPT), "info"], capture_output=True, text=True)
    if found.returncode != 0 or not json.loads(found.stdout).get("pid"):
        pytest.skip("the cluster is not our test node ($ES_URL elsewhere): cannot restart it")
    lines = generated_lines(30_000, seed=25)
    log = tmp_path / "mail.log"
    log.touch()
    shipper = Shipper(tmp_path, es_url, run_ns, [str(log)])
    shipper.start()
    writer = Writer(log, lines, per_second=1500)
    writer.start()
    writer.wait_written(3000)
    assert wait_for(es, shipper, 1000) >= 1000
    restarted = subprocess.run([sys.executable, str(SCRIPT), "restart"], capture_output=True, text=True, timeout=300)
    assert restarted.returncode == 0, restarted.stderr
    assert restarted.stdout.strip() == es_url  # same node, same port, same data
    writer.join()
    assert wait_for(es, shipper, len(lines), timeout=180) == len(lines), shipper.log()[-3000:]
    assert shipper.stop() == 0
    assert indexed(es, run_ns) == len(lines)
    assert "retrying" in shipper.log()


def test_the_example_config_ships_the_samples_with_the_ids_ingest_gives(es, es_url, run_ns, tmp_path):
    """`shipper run -c examples/shipper.yml` as the README shows it; `shipper ingest` of the same files
    afterwards finds every line already there."""
    from tests.integration.test_elasticsearch import sample_texts

    samples = sorted((ROOT / "samples").rglob("*.log"))
    total = sum(len(sample_texts(p)) for p in samples)  # events: a multi-line entry is one
    env = {**os.environ, "ES_URL": es_url, "SHIPPER_NAMESPACE": run_ns,
           "SHIPPER_REGISTRY": str(tmp_path / "registry.json")}  # fmt: skip
    log = tmp_path / "run.log"
    process = subprocess.Popen([sys.executable, "-m", "shipper", "run", "-c", "examples/shipper.yml"],
                               cwd=ROOT, env=env, stderr=log.open("wb"))  # fmt: skip
    deadline = time.monotonic() + 120
    while indexed(es, run_ns) < total and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0, log.read_text()[-2000:]
    assert indexed(es, run_ns) == total
    again = subprocess.run([sys.executable, "-m", "shipper", "ingest", "samples/", "--es", es_url, "--namespace",
                            run_ns, "--json"], capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    assert summary["indexed"] == 0 and summary["already_present"] == total


def test_started_before_elasticsearch_it_waits_and_stops_cleanly(tmp_path):
    log = tmp_path / "mail.log"
    log.write_bytes(b"".join(generated_lines(5, seed=26)))
    shipper = Shipper(tmp_path, f"http://127.0.0.1:{free_port()}", "early", [str(log)])
    shipper.start()
    deadline = time.monotonic() + 20
    while "retrying" not in shipper.log() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert shipper.alive(), shipper.log()
    assert "warning: setup:" in shipper.log() and "Connection refused" in shipper.log()
    assert shipper.stop(timeout=20) == 0


FIRST = b"""\
Nov 28 09:00:00 mx postfix/submission/smtpd[4]: 5E6F7A8B90: client=pc1.example.com[10.0.0.5], sasl_method=PLAIN, sasl_username=app@example.com
Nov 28 09:00:00 mx postfix/cleanup[6]: 5E6F7A8B90: message-id=<order-4711@example.com>
Nov 28 09:00:00 mx postfix/qmgr[1]: 5E6F7A8B90: from=<app@example.com>, size=3021, nrcpt=1 (queue active)
Nov 28 09:00:01 mx postfix/smtp[2]: 5E6F7A8B90: to=<client@example.net>, relay=smtp.sendgrid.net[167.89.115.79]:587, delay=1.1, delays=0.01/0/0.9/0.2, dsn=4.7.0, status=deferred (host smtp.sendgrid.net[167.89.115.79] said: 530 5.7.0 Authentication Required (in reply to MAIL FROM command))
"""
LATER = b"""\
Nov 28 09:30:01 mx postfix/smtp[2]: 5E6F7A8B90: to=<client@example.net>, relay=smtp.sendgrid.net[167.89.115.79]:587, delay=1801, delays=1800/0/0.9/0.2, dsn=2.0.0, status=sent (250 Ok: queued as abc)
Nov 28 09:30:01 mx postfix/qmgr[1]: 5E6F7A8B90: removed
"""


def transactions(es: Any, namespace: str) -> list[dict[str, Any]]:
    index = f"mail-transactions-{namespace}"
    es.indices.refresh(index=index, ignore_unavailable=True, allow_no_indices=True)
    found = es.search(index=index, size=10, ignore_unavailable=True, allow_no_indices=True)
    return [{"_id": hit["_id"], **hit["_source"]} for hit in found["hits"]["hits"]]


def test_a_message_transaction_is_updated_in_place_as_its_message_changes(es, es_url, run_ns, tmp_path):
    log = tmp_path / "mail.log"
    log.write_bytes(FIRST)
    shipper = Shipper(tmp_path, es_url, run_ns, [str(log)], transactions={"update_interval": "300ms"})
    shipper.start()
    deadline = time.monotonic() + 60
    while not (docs := transactions(es, run_ns)) and time.monotonic() < deadline:
        assert shipper.alive(), shipper.log()[-3000:]
        time.sleep(0.3)
    assert len(docs) == 1, shipper.log()[-3000:]
    first = docs[0]
    assert first["mail"]["status"] == "deferred" and first["mail"]["complete"] is False
    assert first["mail"]["reason"]["category"] == "relay authentication"
    assert first["user"]["name"] == "app@example.com" and first["source"]["ip"] == "10.0.0.5"
    with log.open("ab") as out:
        out.write(LATER)
    while transactions(es, run_ns)[0]["mail"]["status"] != "sent" and time.monotonic() < deadline:
        time.sleep(0.3)
    docs = transactions(es, run_ns)
    assert len(docs) == 1 and docs[0]["_id"] == first["_id"]
    assert docs[0]["mail"]["status"] == "sent" and docs[0]["mail"]["complete"] is True
    assert docs[0]["mail"]["deferrals"] == 1 and "tags" not in docs[0]
    es.indices.refresh(index=f"logs-mail.postfix-{run_ns}")
    line = es.search(index=f"logs-mail.postfix-{run_ns}", q="mail.status:sent", size=1)["hits"]["hits"][0]["_source"]
    assert line["email"]["from"]["address"] == ["app@example.com"] and line["user"]["name"] == "app@example.com"
    assert shipper.stop() == 0


def test_open_messages_carry_over_a_restart(es, es_url, run_ns, tmp_path):
    """Stopped while a message waits in the queue, started again when its delivery is logged: still one
    document, now complete, with what the lines before the stop said (sender, client, SASL user)."""
    log = tmp_path / "mail.log"
    log.write_bytes(FIRST)
    shipper = Shipper(tmp_path, es_url, run_ns, [str(log)], transactions={"update_interval": "300ms"})
    shipper.start()
    deadline = time.monotonic() + 60
    while not transactions(es, run_ns) and time.monotonic() < deadline:
        assert shipper.alive(), shipper.log()[-3000:]
        time.sleep(0.3)
    assert shipper.stop() == 0
    assert (tmp_path / "registry.json.transactions.json").exists(), shipper.log()
    assert (tmp_path / "registry.json.transactions.json").stat().st_mode & 0o777 == 0o600
    with log.open("ab") as out:
        out.write(LATER)
    shipper.start()
    while transactions(es, run_ns)[0]["mail"]["status"] != "sent" and time.monotonic() < deadline:
        assert shipper.alive(), shipper.log()[-3000:]
        time.sleep(0.3)
    assert shipper.stop() == 0
    docs = transactions(es, run_ns)
    assert len(docs) == 1, docs
    doc = docs[0]
    assert doc["mail"]["status"] == "sent" and doc["mail"]["complete"] is True and doc["mail"]["deferrals"] == 1
    assert doc["email"]["from"]["address"] == ["app@example.com"] and doc["user"]["name"] == "app@example.com"
    assert "1 open message transactions carried over" in shipper.log()
    assert not (tmp_path / "registry.json.transactions.json").exists()  # nothing open at the second stop
