#!/usr/bin/env python3
"""Time `shipper report` and `shipper transactions` against Debian's `pflogsumm` on the same Postfix log
(at least 200k lines), in the same run, and check that the report's grand totals equal pflogsumm's.

The log is the simulated one of the tests (tests/mailsim.py): interleaved sessions on two hosts, content
filter hops, retries, expiry and bounce notifications, so the correlator has real work to do.

    python3 bench/report_vs_pflogsumm.py                    # ~220k simulated lines, best of 3
    python3 bench/report_vs_pflogsumm.py --log /var/log/mail.log --repeat 5
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.parse_vs_pflogsumm import run  # noqa: E402
from tests.report.test_pflogsumm_agreement import exact_copy, pflogsumm_totals  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log", type=Path, help="an existing Postfix log (default: simulate one)")
    parser.add_argument("--messages", type=int, default=18_000, help="messages to simulate (~12 lines each)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds; each tool's fastest counts")
    args = parser.parse_args()

    pflogsumm = shutil.which("pflogsumm") or "/usr/sbin/pflogsumm"
    if not Path(pflogsumm).exists():
        sys.exit("pflogsumm not found: apt-get install pflogsumm")
    import shipper as package

    compileall.compile_dir(Path(package.__file__).parent, quiet=1)  # as a wheel install would be
    shipper = [sys.executable, "-m", "shipper"]
    with tempfile.TemporaryDirectory() as tmp:
        log = args.log
        if log is None:
            log = Path(tmp) / "mail.log"
            with log.open("w") as out:
                subprocess.run([sys.executable, "-m", "tests.mailsim", "--messages", str(args.messages),
                                "--hours", "48"], stdout=out, check=True, cwd=ROOT)  # fmt: skip
        lines = sum(1 for _ in log.open("rb"))
        size_mb = log.stat().st_size / 2**20
        options = ["--timezone", "UTC"]
        contenders = [
            ("pflogsumm (Debian)", [pflogsumm, str(log)]),
            ("shipper report (text)", [*shipper, "report", *options, str(log)]),
            ("shipper report --format json", [*shipper, "report", "--format", "json", *options, str(log)]),
            ("shipper transactions", [*shipper, "transactions", *options, str(log)]),
        ]
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in contenders}
        for _ in range(args.repeat):
            for name, cmd in contenders:
                runs[name].append(run(cmd))
        results = [(name, min(s for s, _ in rs), max(m for _, m in rs)) for name, rs in runs.items()]

        expected = {k: v[0] for k, v in pflogsumm_totals(exact_copy(Path(pflogsumm), Path(tmp)), [log]).items()}
        report = json.loads(subprocess.run([*shipper, "report", "--format", "json", *options, str(log)],
                                           capture_output=True, check=True).stdout)  # fmt: skip
        got = {k: report["grand_totals"][k] for k in expected}

    print(f"input: {lines} lines, {size_mb:.1f} MiB; best of {args.repeat}; {os.cpu_count()} cores")
    peer = lines / results[0][1]
    print(f"{'tool':32} {'seconds':>8} {'lines/s':>10} {'peak RSS':>9} {'vs pflogsumm':>12}")
    for name, seconds, rss in results:
        rate = lines / seconds
        print(f"{name:32} {seconds:8.2f} {rate:10.0f} {rss:7.0f}MB {rate / peer:11.2f}x")
    print(f"messages: {report['messages']['messages']} (stuck {report['messages']['stuck']})")
    if got == expected:
        print("grand totals: equal to pflogsumm's (" + ", ".join(f"{k} {v}" for k, v in got.items()) + ")")
    else:
        diff = {k: (got[k], expected[k]) for k in got if got[k] != expected[k]}
        sys.exit(f"grand totals differ from pflogsumm's (shipper, pflogsumm): {diff}")


if __name__ == "__main__":
    main()
