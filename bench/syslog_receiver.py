#!/usr/bin/env python3
"""The syslog input of `shipper run` into the test cluster: messages/s over TCP (octet-counted RFC 5424)
with the on-disk spool and without it, beside `shipper ingest` of the same lines from a file, in the same
run; then the UDP loss rate at rising send rates. Median of several rounds.

    scripts/es-test-cluster start
    python3 bench/syslog_receiver.py                        # 50k messages, 3 rounds
    python3 bench/syslog_receiver.py --messages 200000 --repeat 5 --es http://localhost:9200

Each round writes into a fresh namespace. Time runs from the first byte sent to the last event searchable.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from cluster import ROOT, es_url  # bench/cluster.py (the script's own directory is on sys.path)


def messages(count: int) -> list[bytes]:
    lines = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_postfix_log.py"), "--lines", str(count)],
                           capture_output=True, check=True).stdout.splitlines()  # fmt: skip
    out = []
    for line in lines:  # `Mmm dd hh:mm:ss host prog[pid]: text` -> RFC 5424
        head, _, text = line.partition(b": ")
        parts = head.split()
        program, _, pid = parts[4].partition(b"[")
        out.append(b"<22>1 2026-11-28T10:00:00Z %s %s %s - - %s" % (parts[3], program, pid.rstrip(b"]"), text))
    return out


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def count(es, namespace: str) -> int:
    index = f"logs-mail.*-{namespace}"
    try:
        es.indices.refresh(index=index, allow_no_indices=True, ignore_unavailable=True)
        return int(es.count(index=index, ignore_unavailable=True, allow_no_indices=True)["count"])
    except Exception:  # a data stream still being created
        return 0


def start_run(tmp: Path, url: str, namespace: str, listen: list[str], spool: bool) -> subprocess.Popen:
    syslog: dict = {"type": "syslog", "listen": listen, "memory_queue": "256MiB"}
    if spool:
        syslog["spool"] = {"path": str(tmp / "spool"), "max_size": "2GiB"}
    config = {"inputs": [syslog], "registry": {"path": str(tmp / "registry.json")}, "timezone": "UTC",
              "output": {"elasticsearch": {"hosts": [url], "namespace": namespace, "setup": True}},
              "transactions": {"enabled": False}}  # fmt: skip
    (tmp / "run.yml").write_text(json.dumps(config))
    proc = subprocess.Popen([sys.executable, "-m", "shipper", "run", "-c", str(tmp / "run.yml")],
                            stderr=(tmp / "run.log").open("wb"), cwd=ROOT)  # fmt: skip
    port = int(listen[0].rsplit(":", 1)[1])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.1)
    raise SystemExit(f"shipper run did not listen:\n{(tmp / 'run.log').read_text()[-2000:]}")


def wait_for(es, namespace: str, expected: int, timeout: float = 600) -> int:
    deadline = time.monotonic() + timeout
    seen = count(es, namespace)
    while seen < expected and time.monotonic() < deadline:
        time.sleep(0.2)
        seen = count(es, namespace)
    return seen


def tcp_round(es, url: str, payloads: list[bytes], spool: bool) -> float:
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = start_run(Path(tmp), url, namespace, [f"tcp://127.0.0.1:{port}"], spool)
        try:
            data = b"".join(b"%d %s" % (len(p), p) for p in payloads)
            start = time.perf_counter()
            with socket.create_connection(("127.0.0.1", port)) as sender:
                sender.sendall(data)
            seen = wait_for(es, namespace, len(payloads))
            elapsed = time.perf_counter() - start
        finally:
            proc.terminate()
            proc.wait(60)
    if seen != len(payloads):
        raise SystemExit(f"TCP: {seen} of {len(payloads)} indexed")
    return len(payloads) / elapsed


def ingest_round(url: str, payloads: list[bytes]) -> float:
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    with tempfile.NamedTemporaryFile(suffix=".log") as log:
        log.write(b"\n".join(payloads) + b"\n")
        log.flush()
        start = time.perf_counter()
        command = [sys.executable, "-m", "shipper", "ingest", log.name, "--es", url, "--namespace", namespace,
                   "--timezone", "UTC", "--no-transactions"]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
        return len(payloads) / (time.perf_counter() - start)


def udp_loss(es, url: str, payloads: list[bytes], rate: int) -> tuple[float, float]:
    """(loss in %, rate actually sent) when `payloads` are sent over UDP at `rate` messages/s."""
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    port = free_port(socket.SOCK_DGRAM)
    with tempfile.TemporaryDirectory() as tmp:
        proc = start_run(Path(tmp), url, namespace, [f"tcp://127.0.0.1:{free_port()}", f"udp://127.0.0.1:{port}"],
                         spool=False)  # fmt: skip
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                start = time.perf_counter()
                for i, payload in enumerate(payloads):
                    sender.sendto(payload, ("127.0.0.1", port))
                    ahead = (i + 1) / rate - (time.perf_counter() - start)
                    if ahead > 0.001:
                        time.sleep(ahead)
                sent_rate = len(payloads) / (time.perf_counter() - start)
            time.sleep(3)
            seen = wait_for(es, namespace, len(payloads), timeout=30)
        finally:
            proc.terminate()
            proc.wait(60)
    return 100.0 * (len(payloads) - seen) / len(payloads), sent_rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--es", default=None)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--udp-messages", type=int, default=20_000)
    args = parser.parse_args()
    url = es_url(args.es)
    from elasticsearch import Elasticsearch

    es = Elasticsearch(url, request_timeout=60)
    payloads = messages(args.messages)
    print(f"{len(payloads):,} RFC 5424 messages, one TCP connection, octet-counted; median of {args.repeat}; {url}")
    results = {}
    for name, run in (
        ("shipper run, syslog TCP, spool", lambda: tcp_round(es, url, payloads, True)),
        ("shipper run, syslog TCP, memory", lambda: tcp_round(es, url, payloads, False)),
        ("shipper ingest, same lines from a file", lambda: ingest_round(url, payloads)),
    ):
        rates = [run() for _ in range(args.repeat)]
        results[name] = statistics.median(rates)
        print(f"  {name:<42} {results[name]:>9,.0f} msgs/s")
    spool, memory = results["shipper run, syslog TCP, spool"], results["shipper run, syslog TCP, memory"]
    print(f"  spool overhead: {100 * (1 - spool / memory):.1f}% of the memory queue's rate")
    print(f"UDP loss, {args.udp_messages:,} datagrams at each rate (memory queue)")
    for rate in (1_000, 5_000, 20_000, 50_000):
        loss, sent = udp_loss(es, url, payloads[: args.udp_messages], rate)
        print(f"  {rate:>7,}/s asked, {sent:>9,.0f}/s sent: {loss:5.1f}% lost")
    return 0


if __name__ == "__main__":
    sys.exit(main())
