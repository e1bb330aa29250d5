#!/usr/bin/env python3
"""Time `shipper parse` (full field extraction to NDJSON) against Debian's `pflogsumm` (counting only)
on the same Postfix log, in the same run: medians of wall and CPU time, lines/s, peak RSS, the ratios and
the targets (one process >= 0.6x pflogsumm, one per core >= 1.0x by wall time). Two inputs: a generated log,
and the real Postfix capture (samples/postfix/debian-postfix.log) repeated to the same size.

    python3 bench/parse_vs_pflogsumm.py                  # 200k lines each, median of 3
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
from pathlib import Path

from measure import ROOT, inputs, print_table, rounds  # bench/measure.py


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log", type=Path, help="an existing Postfix log (default: generate one)")
    parser.add_argument("--lines", type=int, default=200_000, help="lines to generate")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds (medians)")
    args = parser.parse_args()

    pflogsumm = shutil.which("pflogsumm") or "/usr/sbin/pflogsumm"
    if not Path(pflogsumm).exists():
        sys.exit("pflogsumm not found: apt-get install pflogsumm")
    shipper = [sys.executable, "-m", "shipper", "parse", "--timezone", "UTC"]
    # Byte-compile shipper as a wheel install does: an editable checkout under PYTHONDONTWRITEBYTECODE
    # would otherwise recompile every module at each start (about 0.2 s here).
    import shipper as package

    compileall.compile_dir(Path(package.__file__).parent, quiet=1)

    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:

        def generate(path: Path) -> None:
            with path.open("w") as out:
                subprocess.run([sys.executable, str(ROOT / "scripts/gen_postfix_log.py"), "--lines", str(args.lines)],
                               stdout=out, check=True)  # fmt: skip

        for label, log in inputs(args.log, Path(tmp), "generated Postfix log", generate):
            lines = sum(1 for _ in log.open("rb"))
            print(f"\n{label}: {lines} lines, {log.stat().st_size / 2**20:.1f} MiB")
            contenders: list[tuple[str, list[str] | str]] = [
                ("pflogsumm (Debian, counts only)", [pflogsumm, str(log)]),
                ("shipper parse -j 1 (NDJSON)", [*shipper, "--workers", "1", str(log)]),
                (f"shipper parse -j {cores} (one per core)", [*shipper, "--workers", str(cores), str(log)]),
            ]
            targets = {contenders[1][0]: (0.6, "cpu"), contenders[2][0]: (1.0, "wall")}
            print_table(rounds(contenders, args.repeat), contenders[0][0], lines, targets)


if __name__ == "__main__":
    main()
