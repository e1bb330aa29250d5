#!/usr/bin/env python3
"""Time `shipper queue` on a large saved `postqueue -j` listing against `jq` on the same file, in the same
run. jq only filters JSON by a reason's text; shipper also validates every entry, classifies every reason
and builds the selection's commands. Prints messages/s, wall time and peak RSS.

    python3 bench/queue_vs_jq.py                    # 50,000 generated queue entries, best of 3
    python3 bench/queue_vs_jq.py --messages 200000 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REASONS = [
    "connect to 127.0.0.1[127.0.0.1]:1: Connection refused",
    "SASL authentication failed; server smtp.example.net[192.0.2.9] said: 535 5.7.8 Error: authentication failed",
    "host mx.example.net[203.0.113.5] said: 450 4.2.0 <r@example.net>: Greylisted, try again later"
    " (in reply to RCPT TO command)",
    "connect to mx.slow.example[198.51.100.7]:25: Connection timed out",
    "connect to 127.0.0.1[127.0.0.1]:7025: Connection refused",
]


def listing(path: Path, count: int) -> None:
    rng = random.Random(1)
    with path.open("w") as out:
        for n in range(count):
            out.write(json.dumps({
                "queue_name": rng.choice(["deferred", "deferred", "active", "hold"]),
                "queue_id": f"{0x10000000000 + n:011X}",
                "arrival_time": 1795900000 + n, "message_size": 1000 + n % 50000, "forced_expire": False,
                "sender": f"s{n % 300}@example.com",
                "recipients": [{"address": f"r{n}@d{n % 50}.example", "delay_reason": rng.choice(REASONS)}],
            }) + "\n")  # fmt: skip


def run(cmd: list[str]) -> tuple[float, float]:
    with open(os.devnull, "wb") as sink:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.PIPE, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd[:4])} failed: {proc.stderr.read().decode()[-300:] if proc.stderr else ''}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "postqueue-j.ndjson"
        listing(path, args.messages)
        shipper = [sys.executable, "-m", "shipper", "queue"]
        saved = ["--mta", "postfix", "--from", str(path)]
        tools = {
            "shipper queue list --format json": [*shipper, "list", *saved, "--format", "json"],
            "shipper queue delete (dry run)": [*shipper, "delete", *saved, "--reason-category", "greylisting"],
        }
        if shutil.which("jq"):
            jq_filter = 'select(.recipients[0].delay_reason | test("Greylisted"))'
            tools = {"jq (select by reason text)": ["jq", "-c", jq_filter, str(path)], **tools}
        else:
            print("jq not found: apt-get install jq for the peer figure")
        print(f"input: {args.messages} queue entries ({path.stat().st_size / 2**20:.1f} MiB); best of {args.repeat}")
        print(f"{'tool':<46}{'seconds':>8}{'msgs/s':>11}{'peak RSS':>10}")
        for name, cmd in tools.items():
            best = min((run(cmd) for _ in range(args.repeat)), key=lambda r: r[0])
            print(f"{name:<46}{best[0]:>8.2f}{args.messages / best[0]:>11,.0f}{best[1]:>8.0f}MB")


if __name__ == "__main__":
    main()
