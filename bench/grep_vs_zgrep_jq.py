#!/usr/bin/env python3
"""`shipper grep QUERY mail.log.gz --count` against what an analyst does without it: `zgrep` for a literal,
then `jq` with the same filter, over `shipper parse` output kept gzipped (written beforehand, not timed: the
peer gets the parsing for free). Both counts must agree; medians of interleaved rounds, wall and CPU.

    python3 bench/grep_vs_zgrep_jq.py                       # the simulated log, 18,000 messages
    python3 bench/grep_vs_zgrep_jq.py --messages 4000 --repeat 1
"""

from __future__ import annotations

import argparse
import compileall
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from measure import ROOT, print_table, rounds, run  # bench/measure.py

# (KQL, the literal zgrep looks for, the jq filter): each pair asks the same question.
QUERIES = [
    ("mail.status: deferred", "deferred", 'select(.mail.status == "deferred")'),
    ("event.outcome: failure and process.name: postfix/smtpd", '"outcome":"failure"',
     'select(.event.outcome == "failure" and .process.name == "postfix/smtpd")'),
    ('mail.reason.category: "connection timeout"', "connection timeout",
     'select(.mail.reason.category == "connection timeout")'),
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=18_000, help="messages to simulate (~16 lines each)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds (medians)")
    args = parser.parse_args()
    for tool in ("zgrep", "jq"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: apt-get install {'gzip' if tool == 'zgrep' else 'jq'}")
    import shipper as package

    compileall.compile_dir(Path(package.__file__).parent, quiet=1)  # as a wheel install would be
    shipper = f"{shlex.quote(sys.executable)} -m shipper"
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "mail.log"
        with log.open("w") as out:
            subprocess.run([sys.executable, "-m", "tests.mailsim", "--messages", str(args.messages), "--hours", "48"],
                           stdout=out, check=True, cwd=ROOT)  # fmt: skip
        lines = sum(1 for _ in log.open("rb"))
        subprocess.run(f"gzip -1 -k {log}", shell=True, check=True)
        events = Path(tmp) / "events.ndjson.gz"
        subprocess.run(f"{shipper} parse --timezone UTC {log} | gzip -1 > {events}", shell=True, check=True, cwd=ROOT)
        print(f"input: {lines} lines ({log.stat().st_size / 2**20:.1f} MiB), its parse output gzipped"
              f" ({events.stat().st_size / 2**20:.1f} MiB) for the peer")  # fmt: skip
        for kql, literal, jq in QUERIES:
            ours = f"{shipper} grep {shlex.quote(kql)} {log}.gz --count --timezone UTC"
            peer = f"zgrep -F {shlex.quote(literal)} {events} | jq -c {shlex.quote(jq)} | wc -l"
            counts = {int(run(cmd, keep_output=True).stdout) for cmd in (ours, peer)}
            if len(counts) != 1:
                sys.exit(f"{kql!r}: the counts differ (shipper grep, zgrep+jq): {counts}")
            print(f"\n{kql}   ({counts.pop()} events)")
            runs = rounds([("zgrep + jq (parse output)", peer), ("shipper grep --count (raw log)", ours)], args.repeat)
            print_table(runs, "zgrep + jq (parse output)", lines, {"shipper grep --count (raw log)": (1.0, "wall")})


if __name__ == "__main__":
    main()
