#!/usr/bin/env python3
"""Time `shipper report` and `shipper transactions` against Debian's `pflogsumm` on the same Postfix log,
in the same run (medians of wall and CPU time; one process and one per core), and check that the report's
grand totals equal pflogsumm's. The targets: report and transactions >= 1.0x pflogsumm on one core.

Two inputs: the simulated log of the tests (tests/mailsim.py: interleaved sessions on two hosts, content
filter hops, retries, expiry and bounce notifications, so the correlator has real work to do), and the real
Postfix capture (samples/postfix/debian-postfix.log) repeated to the same size.

    python3 bench/report_vs_pflogsumm.py                    # ~290k simulated lines, median of 3
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

from bench.measure import inputs, print_table, rounds  # noqa: E402
from tests.report.test_pflogsumm_agreement import exact_copy, pflogsumm_totals  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log", type=Path, help="an existing Postfix log (default: simulate one)")
    parser.add_argument("--messages", type=int, default=18_000, help="messages to simulate (~12 lines each)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds (medians)")
    args = parser.parse_args()

    pflogsumm = shutil.which("pflogsumm") or "/usr/sbin/pflogsumm"
    if not Path(pflogsumm).exists():
        sys.exit("pflogsumm not found: apt-get install pflogsumm")
    import shipper as package

    compileall.compile_dir(Path(package.__file__).parent, quiet=1)  # as a wheel install would be
    shipper = [sys.executable, "-m", "shipper"]
    options = ["--timezone", "UTC"]
    cores = os.cpu_count() or 1  # given explicitly: -j 0 starts no pool for a small bench input
    with tempfile.TemporaryDirectory() as tmp:

        def simulate(path: Path) -> None:
            with path.open("w") as out:
                subprocess.run([sys.executable, "-m", "tests.mailsim", "--messages", str(args.messages),
                                "--hours", "48"], stdout=out, check=True, cwd=ROOT)  # fmt: skip

        for label, log in inputs(args.log, Path(tmp), "simulated Postfix log", simulate):
            lines = sum(1 for _ in log.open("rb"))
            print(f"\n{label}: {lines} lines, {log.stat().st_size / 2**20:.1f} MiB")
            contenders: list[tuple[str, list[str] | str]] = [
                ("pflogsumm (Debian)", [pflogsumm, str(log)]),
                ("shipper report -j 1", [*shipper, "report", "-j", "1", *options, str(log)]),
                (f"shipper report -j {cores}", [*shipper, "report", "-j", str(cores), *options, str(log)]),
                ("shipper report --format json -j 1", [*shipper, "report", "--format", "json", "-j", "1", *options,
                                                       str(log)]),
                ("shipper transactions -j 1", [*shipper, "transactions", "-j", "1", *options, str(log)]),
                (f"shipper transactions -j {cores}", [*shipper, "transactions", "-j", str(cores), *options, str(log)]),
            ]  # fmt: skip
            targets = {"shipper report -j 1": (1.0, "cpu"), "shipper transactions -j 1": (1.0, "cpu")}
            print_table(rounds(contenders, args.repeat), "pflogsumm (Debian)", lines, targets)
            totals(log, pflogsumm, shipper, options, Path(tmp))


def totals(log: Path, pflogsumm: str, shipper: list[str], options: list[str], tmp: Path) -> None:
    expected = {k: v[0] for k, v in pflogsumm_totals(exact_copy(Path(pflogsumm), tmp), [log]).items()}
    report = json.loads(subprocess.run([*shipper, "report", "--format", "json", *options, str(log)],
                                       capture_output=True, check=True).stdout)  # fmt: skip
    got = {k: report["grand_totals"][k] for k in expected}
    print(f"messages: {report['messages']['messages']} (stuck {report['messages']['stuck']})")
    if got != expected:
        diff = {k: (got[k], expected[k]) for k in got if got[k] != expected[k]}
        sys.exit(f"grand totals differ from pflogsumm's (shipper, pflogsumm): {diff}")
    print("grand totals: equal to pflogsumm's (" + ", ".join(f"{k} {v}" for k, v in got.items()) + ")")


if __name__ == "__main__":
    main()
