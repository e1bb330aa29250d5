#!/usr/bin/env python3
"""`shipper grep QUERY mail.log.gz --count` against what an analyst does without it: `zgrep` for a literal,
then `jq` with the same filter, over `shipper parse` output kept gzipped (written beforehand, not timed: the
peer gets the parsing for free). Both counts must agree; medians of interleaved rounds, wall and CPU.

    python3 bench/grep_vs_zgrep_jq.py                       # the simulated log (18,000 messages) and the
                                                            # real Postfix capture repeated to as many lines
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

from measure import ROOT, inputs, print_table, rounds, run  # bench/measure.py

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

        def simulate(path: Path) -> None:
            with path.open("w") as out:
                subprocess.run([sys.executable, "-m", "tests.mailsim", "--messages", str(args.messages), "--hours",
                                "48"], stdout=out, check=True, cwd=ROOT)  # fmt: skip

        for label, log in inputs(None, Path(tmp), "simulated Postfix log", simulate):
            lines = sum(1 for _ in log.open("rb"))
            subprocess.run(["gzip", "-1", "-k", str(log)], check=True)
            events = log.with_suffix(".ndjson.gz")
            subprocess.run(f"{shipper} parse --timezone UTC {log} | gzip -1 > {events}", shell=True, check=True,
                           cwd=ROOT)  # fmt: skip
            print(f"\n{label}: {lines} lines ({log.stat().st_size / 2**20:.1f} MiB), its parse output gzipped"
                  f" ({events.stat().st_size / 2**20:.1f} MiB) for the peer")  # fmt: skip
            for kql, literal, jq in QUERIES:
                # exit 1 is "nothing matched" to both greps (the real capture has no timeouts)
                ours = f"{shipper} grep {shlex.quote(kql)} {log}.gz --count --timezone UTC || test $? -eq 1"
                found = f"zgrep -F {shlex.quote(literal)} {events} || test $? -eq 1"
                peer = f"{{ {found}; }} | jq -c {shlex.quote(jq)} | wc -l"
                counts = {int(run(cmd, keep_output=True).stdout) for cmd in (ours, peer)}
                if len(counts) != 1:
                    sys.exit(f"{kql!r}: the counts differ (shipper grep, zgrep+jq): {counts}")
                print(f"\n{kql}   ({counts.pop()} events)")
                contenders = [("zgrep + jq (parse output)", peer), ("shipper grep --count (raw log)", ours)]
                runs = rounds(contenders, args.repeat)
                print_table(runs, "zgrep + jq (parse output)", lines, {"shipper grep --count (raw log)": (1.0, "wall")})


if __name__ == "__main__":
    main()
