#!/usr/bin/env python3
"""Indexing throughput: `shipper ingest` (read, parse, address, bulk) against the client-side ceiling,
`elasticsearch.helpers.bulk` of the very same documents built beforehand, on the same cluster in the
same run. Prints documents/s for both and the ratio.

    scripts/es-test-cluster start
    python3 bench/ingest_vs_bulk.py                          # 200k generated Postfix lines, median of 3
    python3 bench/ingest_vs_bulk.py --es http://localhost:9200 --lines 500000 --repeat 5

Each round writes into fresh data streams (a new namespace), so neither side profits from 409s.
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from cluster import ROOT, es_url  # bench/cluster.py (the script's own directory is on sys.path)


def prebuilt_actions(log: Path, namespace: str) -> list[dict]:
    """The documents shipper would send, built outside the timed part: what helpers.bulk gets."""
    from shipper.pipeline.emit import ParseSettings
    from shipper.pipeline.ingest import ingest_inputs
    from shipper.pipeline.inputs import open_inputs

    class Collect:
        def __init__(self) -> None:
            self.events = []

        def add(self, event, token=None) -> None:
            self.events.append(event)

        def close(self):
            from shipper.outputs.base import OutputStats

            return OutputStats()

    sink = Collect()
    ingest_inputs(open_inputs([log]), ParseSettings(timezone="UTC"), namespace, sink, correlate=False)  # type: ignore[arg-type]
    return [
        {"_op_type": "create", "_index": e.index, "_id": e.id, "_source": orjson.loads(e.source)} for e in sink.events
    ]


def time_ingest(url: str, log: Path, namespace: str, batch: int) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "shipper", "ingest", str(log), "--es", url, "--namespace", namespace,
           "--timezone", "UTC", "--batch-size", str(batch), "--json", "--no-transactions"]  # fmt: skip
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        peak_kib = 0
        while proc.poll() is None:
            # VmHWM of the running child: its rusage would also count the bench's own pages copied at fork
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
                peak_kib = max(peak_kib, int(status.split("VmHWM:")[1].split()[0]))
            except (OSError, IndexError, ValueError):
                pass
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        sys.exit(f"shipper ingest failed: {stderr.decode(errors='replace')[-800:]}")
    summary = orjson.loads(stdout.strip().splitlines()[-1])
    summary["peak_rss_mib"] = peak_kib / 1024
    return elapsed, summary


def time_helpers_bulk(client, actions: list[dict], namespace: str, batch: int) -> tuple[float, int]:
    from elasticsearch import helpers

    for action in actions:  # retarget to this round's namespace (not timed)
        action["_index"] = action["_index"].rsplit("-", 1)[0] + f"-{namespace}"
    start = time.perf_counter()
    ok, errors = helpers.bulk(client, actions, chunk_size=batch, max_chunk_bytes=8 * 1024 * 1024, stats_only=True)
    client.indices.refresh(index=f"logs-mail.*-{namespace}")
    elapsed = time.perf_counter() - start
    if errors:
        sys.exit(f"helpers.bulk: {errors} errors")
    return elapsed, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--es", help="Elasticsearch URL (default: the test node from scripts/es-test-cluster)")
    parser.add_argument("--log", type=Path, help="an existing Postfix log (default: generate one)")
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds (medians)")
    parser.add_argument("--batch", type=int, default=2000, help="documents per bulk request, both sides")
    args = parser.parse_args()

    import shipper as package
    from shipper.elastic.connection import EsSettings
    from shipper.elastic.setup import run_setup
    from shipper.elastic.templates import LifecycleAges

    compileall.compile_dir(Path(package.__file__).parent, quiet=1)  # as a wheel install would be
    url = es_url(args.es)
    client = EsSettings(hosts=[url]).connection().client()
    run_setup(client, LifecycleAges())

    with tempfile.TemporaryDirectory() as tmp:
        log = args.log
        if log is None:
            log = Path(tmp) / "mail.log"
            with log.open("w") as out:
                gen = [sys.executable, str(ROOT / "scripts/gen_postfix_log.py"), "--lines", str(args.lines)]
                subprocess.run(gen, stdout=out, check=True)
        lines = log.read_bytes().count(b"\n")
        actions = prebuilt_actions(log, "prebuilt")
        # warm the JVM up (JIT, caches) before anything is timed: a cold node would penalise the first side
        time_helpers_bulk(client, actions[: min(len(actions), 20_000)], "benchwarm" + uuid.uuid4().hex[:8], args.batch)
        ingest_times: list[float] = []
        bulk_times: list[float] = []
        peak_rss = 0.0
        for round_ in range(1, args.repeat + 1):
            tag = uuid.uuid4().hex[:8]
            elapsed = bulk_elapsed = 0.0
            for side in ("ingest", "bulk") if round_ % 2 else ("bulk", "ingest"):  # alternate who goes first
                if side == "ingest":
                    elapsed, summary = time_ingest(url, log, f"benchi{tag}", args.batch)
                    if summary["indexed"] != lines:
                        sys.exit(f"shipper ingest indexed {summary['indexed']} of {lines}")
                    ingest_times.append(elapsed)
                    peak_rss = max(peak_rss, summary["peak_rss_mib"])
                else:
                    bulk_elapsed, ok = time_helpers_bulk(client, actions, f"benchb{tag}", args.batch)
                    if ok != lines:
                        sys.exit(f"helpers.bulk indexed {ok} of {lines}")
                    bulk_times.append(bulk_elapsed)
            rates = f"shipper ingest {lines / elapsed:,.0f} docs/s, helpers.bulk {lines / bulk_elapsed:,.0f} docs/s"
            print(f"round {round_}: {rates}", file=sys.stderr)

    ingest, bulk = statistics.median(ingest_times), statistics.median(bulk_times)
    ratio = bulk / ingest
    print(f"{lines:,} Postfix lines, {args.batch} docs per bulk request, median of {args.repeat}, {url}")
    print(f"  shipper ingest (read+parse+bulk)     {ingest:7.2f} s  {lines / ingest:10,.0f} docs/s"
          f"  peak RSS {peak_rss:.0f} MiB")  # fmt: skip
    print(f"  helpers.bulk (pre-built documents)   {bulk:7.2f} s  {lines / bulk:10,.0f} docs/s")
    verdict = "met" if ratio >= 0.85 else "NOT met"
    print(f"  ratio shipper / ceiling              {ratio:7.2f}   (target >= 0.85: {verdict})")


if __name__ == "__main__":
    main()
