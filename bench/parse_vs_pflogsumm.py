#!/usr/bin/env python3
"""Time `shipper parse` (full field extraction to NDJSON) against Debian's `pflogsumm` (counting only)
on the same realistic Postfix log, in the same run. Prints lines/s, wall time, peak RSS and the ratio.

    python3 bench/parse_vs_pflogsumm.py                  # 200k generated lines, best of 3
    python3 bench/parse_vs_pflogsumm.py --log /var/log/mail.log --repeat 5
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one run, output discarded."""
    with open(os.devnull, "wb") as sink:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({proc.returncode}): {stderr[-500:]}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log", type=Path, help="an existing Postfix log (default: generate one)")
    parser.add_argument("--lines", type=int, default=200_000, help="lines to generate")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds; each tool's fastest counts")
    args = parser.parse_args()

    pflogsumm = shutil.which("pflogsumm") or "/usr/sbin/pflogsumm"
    if not Path(pflogsumm).exists():
        sys.exit("pflogsumm not found: apt-get install pflogsumm")
    shipper = [sys.executable, "-m", "shipper", "parse", "--timezone", "UTC"]
    # Byte-compile shipper as a wheel install does: an editable checkout under PYTHONDONTWRITEBYTECODE
    # would otherwise recompile every module at each start (about 0.2 s here).
    import shipper as package

    compileall.compile_dir(Path(package.__file__).parent, quiet=1)

    with tempfile.TemporaryDirectory() as tmp:
        log = args.log
        if log is None:
            log = Path(tmp) / "mail.log"
            with log.open("w") as out:
                subprocess.run([sys.executable, str(ROOT / "scripts/gen_postfix_log.py"), "--lines", str(args.lines)],
                               stdout=out, check=True)  # fmt: skip
        lines = sum(1 for _ in log.open("rb"))
        size_mb = log.stat().st_size / 2**20
        cores = os.cpu_count() or 1
        contenders = [
            ("pflogsumm (Debian, counts only)", [pflogsumm, str(log)]),
            ("shipper parse -j 1 (NDJSON)", [*shipper, "--workers", "1", str(log)]),
            (f"shipper parse -j {cores} (NDJSON)", [*shipper, "--workers", str(cores), str(log)]),
        ]
        # Interleaved rounds, fastest per tool: a shared machine's slow spells then hit every tool alike.
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in contenders}
        for _ in range(args.repeat):
            for name, cmd in contenders:
                runs[name].append(run(cmd))
        results = [(name, min(s for s, _ in rs), max(m for _, m in rs)) for name, rs in runs.items()]

    print(f"input: {lines} lines, {size_mb:.1f} MiB; best of {args.repeat}; {cores} cores")
    peer = lines / results[0][1]
    print(f"{'tool':36} {'seconds':>8} {'lines/s':>10} {'peak RSS':>9} {'vs pflogsumm':>12}")
    for name, seconds, rss in results:
        rate = lines / seconds
        print(f"{name:36} {seconds:8.2f} {rate:10.0f} {rss:7.0f}MB {rate / peer:11.2f}x")


if __name__ == "__main__":
    main()
