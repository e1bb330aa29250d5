#!/usr/bin/env python3
"""How `shipper parse`, `report` and `transactions` grow with the input: time and peak RSS on generated
Postfix logs of rising size (scripts/gen_postfix_log.py, written on the fly, never committed), with Debian's
`pflogsumm` on the same log as the peer. Time should grow linearly (the per-line cost printed per size
should stay flat), `parse`'s RSS should stay flat, and `report`/`transactions` should hold only what is
open plus the report's tables.

    python3 bench/scaling.py                          # 1M and 5M lines
    python3 bench/scaling.py --sizes 1000000 5000000 20000000
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(argv: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in KiB) of one run (its own rusage, by wait4), output discarded."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):
        sys.exit(f"{' '.join(argv)} failed with exit status {child.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    args = parser.parse_args()
    pflogsumm = shutil.which("pflogsumm") or "/usr/sbin/pflogsumm"
    shipper = [sys.executable, "-m", "shipper"]
    options = ["--timezone", "UTC", "--reference-date", "2026-11-28"]
    print(f"{'lines':>11} {'tool':<22} {'wall s':>8} {'CPU s':>8} {'µs/line':>8} {'peak RSS':>9}")
    results: dict[str, list[tuple[int, float, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sorted(args.sizes):
            log = Path(tmp) / f"mail-{size}.log"
            with log.open("wb") as out:
                subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_postfix_log.py"), "--lines", str(size),
                                "--seed", "7"], stdout=out, check=True)  # fmt: skip
            runs = [("pflogsumm", [pflogsumm, str(log)]) if Path(pflogsumm).exists() else None,
                    ("shipper parse", [*shipper, "parse", "-j", "1", *options, str(log)]),
                    ("shipper report", [*shipper, "report", "-j", "1", *options, str(log)]),
                    ("shipper transactions", [*shipper, "transactions", "-j", "1", *options, str(log)])]  # fmt: skip
            for name, argv in (r for r in runs if r is not None):
                wall, cpu, rss = measure(argv)
                results.setdefault(name, []).append((size, cpu, rss))
                print(f"{size:>11,} {name:<22} {wall:>8.1f} {cpu:>8.1f} {cpu / size * 1e6:>8.1f} "
                      f"{rss / 1024:>7.0f}MB", flush=True)  # fmt: skip
            log.unlink()
    if len(args.sizes) > 1:
        print("\nfrom the smallest to the largest size: CPU per line (linear: the same), peak RSS growth per 1M lines")
        for name, rows in results.items():
            (small, cpu_s, rss_s), (large, cpu_l, rss_l) = rows[0], rows[-1]
            per_line = (cpu_l / large) / (cpu_s / small)
            growth = (rss_l - rss_s) / 1024 / ((large - small) / 1e6)
            print(f"  {name:<22} CPU per line x{per_line:.2f}   RSS {growth:+.1f} MB per 1M lines")


if __name__ == "__main__":
    main()
