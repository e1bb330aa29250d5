#!/usr/bin/env python3
"""Tailing on the test cluster: `shipper run` follows a file a writer appends to at a fixed rate.

Prints, in one run:
  - end-to-end latency percentiles, append to searchable (the cluster is polled every 100 ms with a
    refresh, so that is the resolution);
  - steady-state throughput at the fixed rate, then the burst throughput of `shipper run` catching up
    with a block appended at once, beside `shipper ingest` of the same block (the batch ceiling);
  - shipper's CPU while tailing at the fixed rate (user + system seconds of the process per second), and
    that per 1,000 lines/s;
  - shipper's RSS over the run: first minute, last minute, min and max, and every 5 minutes of a long
    run (flat means no leak).

    scripts/es-test-cluster start
    python3 bench/tail_latency.py                      # 10 minutes at 2000 lines/s
    python3 bench/tail_latency.py --duration 30 --rate 1000
    python3 bench/tail_latency.py --duration 1800 --rate 2000      # docs/run.md's 30-minute figures
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from cluster import ROOT, es_url  # bench/cluster.py (the script's own directory is on sys.path)


def generate(lines: int, seed: int) -> list[bytes]:
    done = subprocess.run([sys.executable, str(ROOT / "scripts/gen_postfix_log.py"), "--lines", str(lines),
                           "--seed", str(seed)], capture_output=True, check=True)  # fmt: skip
    return done.stdout.splitlines(keepends=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def rss_mib(pid: int) -> float:
    try:
        return int(Path(f"/proc/{pid}/status").read_text().split("VmRSS:")[1].split()[0]) / 1024
    except (OSError, IndexError, ValueError):
        return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/PID/stat fields 14 and 15)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--es", help="Elasticsearch URL (default: the test node)")
    parser.add_argument("--rate", type=int, default=2000, help="lines per second the writer appends")
    parser.add_argument("--duration", type=float, default=600, help="seconds of steady appending")
    parser.add_argument("--burst", type=int, default=100_000, help="lines appended at once at the end")
    args = parser.parse_args()

    from shipper.elastic.connection import EsSettings

    url = es_url(args.es)
    client = EsSettings(hosts=[url]).connection({}).client()
    namespace = "tail" + uuid.uuid4().hex[:8]
    index = f"logs-mail.*-{namespace}"
    steady_lines = int(args.rate * args.duration)
    pool = generate(min(steady_lines, 200_000), seed=21)

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "mail.log"
        log.touch()
        config = Path(tmp) / "shipper.yml"
        config.write_text(json.dumps({
            "inputs": [{"paths": [str(log)], "source": "postfix"}],
            "output": {"elasticsearch": {"hosts": [url], "namespace": namespace, "setup": True}},
            "registry": {"path": f"{tmp}/registry.json"}, "timezone": "UTC", "status_interval": "60s",
        }))  # fmt: skip
        run_log = (Path(tmp) / "run.log").open("wb")
        shipper = subprocess.Popen([sys.executable, "-m", "shipper", "run", "-c", str(config)], stderr=run_log)
        written_at: list[float] = []
        counts: list[tuple[float, int]] = []
        rss: list[tuple[float, float]] = []
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                try:
                    client.indices.refresh(index=index, allow_no_indices=True, ignore_unavailable=True)
                    n = client.count(index=index, ignore_unavailable=True, allow_no_indices=True)["count"]
                    counts.append((time.time(), n))
                except Exception:  # a data stream being created answers 503 once
                    pass
                time.sleep(0.1)

        def sample() -> None:
            while not done.is_set():
                rss.append((time.time(), rss_mib(shipper.pid)))
                time.sleep(1)

        threads = [threading.Thread(target=poll, daemon=True), threading.Thread(target=sample, daemon=True)]
        for thread in threads:
            thread.start()
        time.sleep(2)  # shipper started, templates installed
        start = time.time()
        cpu_start = cpu_seconds(shipper.pid)
        with log.open("ab", buffering=0) as out:
            for i in range(steady_lines):
                due = start + i / args.rate
                pause = due - time.time()
                if pause > 0:
                    time.sleep(pause)
                out.write(pool[i % len(pool)].replace(b"]: ", f"]: r{i} ".encode(), 1))
                written_at.append(time.time())
        steady_end = time.time()
        cpu_steady = cpu_seconds(shipper.pid) - cpu_start

        def wait_for(total: int, timeout: float) -> float:
            limit = time.time() + timeout
            while time.time() < limit:
                if counts and counts[-1][1] >= total:
                    return counts[-1][0]
                time.sleep(0.05)
            sys.exit(f"only {counts[-1][1] if counts else 0} of {total} lines indexed; see {tmp}/run.log")

        wait_for(steady_lines, 300)
        burst = generate(args.burst, seed=22)
        burst_start = time.time()
        with log.open("ab") as out:
            out.writelines(burst)
        burst_done = wait_for(steady_lines + args.burst, 600)
        done.set()
        shipper.terminate()
        shipper.wait(60)
        run_log.close()

        burst_file = Path(tmp) / "burst.log"
        burst_file.write_bytes(b"".join(burst))
        t0 = time.time()
        subprocess.run([sys.executable, "-m", "shipper", "ingest", str(burst_file), "--es", url, "--namespace",
                        namespace + "i", "--json", "--no-transactions"], capture_output=True, check=True)  # fmt: skip
        ingest_seconds = time.time() - t0

    latencies = []
    position = 0
    for i, at in enumerate(written_at, start=1):
        while position < len(counts) and counts[position][1] < i:
            position += 1
        if position < len(counts):
            latencies.append(counts[position][0] - at)
    first = [r for t, r in rss if t - start < 60]
    last = [r for t, r in rss if steady_end - t < 60 and t <= steady_end]
    print(f"shipper run, {args.rate} lines/s for {args.duration:.0f}s ({steady_lines:,} lines), test cluster {url}")
    p50, p90, p99 = (percentile(latencies, q) for q in (0.5, 0.9, 0.99))
    print(f"  latency append -> searchable: p50 {p50:.2f}s  p90 {p90:.2f}s  p99 {p99:.2f}s"
          f"  max {max(latencies):.2f}s  (poll resolution 0.1s + refresh)")  # fmt: skip
    print(f"  steady throughput: {steady_lines / (steady_end - start):,.0f} lines/s appended and kept up with")
    per_second = cpu_steady / (steady_end - start)
    print(f"  CPU while tailing: {per_second * 100:.1f}% of one core ({cpu_steady:.1f} CPU-s in"
          f" {steady_end - start:.0f} s), {per_second * 1000 / args.rate * 100:.1f}% per 1,000 lines/s")  # fmt: skip
    print(
        f"  burst of {args.burst:,} lines: shipper run {args.burst / (burst_done - burst_start):,.0f} lines/s;"
        f" shipper ingest of the same lines {args.burst / ingest_seconds:,.0f} lines/s"
    )
    print(
        f"  RSS: first minute {sum(first) / max(1, len(first)):.0f} MiB, last minute"
        f" {sum(last) / max(1, len(last)):.0f} MiB, min {min(r for _, r in rss):.0f}, max {max(r for _, r in rss):.0f}"
    )
    if args.duration >= 600:
        minutes = range(0, int(args.duration // 60) + 1, 5)
        marks = [(m, [r for t, r in rss if m * 60 <= t - start < (m + 1) * 60 and t <= steady_end]) for m in minutes]
        series = [f"{m} min {sum(v) / len(v):.0f}" for m, v in marks if v]
        print("  RSS (MiB) at each 5 minutes: " + ", ".join(series))


if __name__ == "__main__":
    main()
