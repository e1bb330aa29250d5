#!/usr/bin/env python3
"""Instructions per line, counted by valgrind's callgrind: `shipper parse` against Debian's `pflogsumm`.

Wall-clock figures on a shared machine swing with its neighbours; instruction counts do not. Each tool
runs on the first N and the first 3N lines of the same generated Postfix log; the difference divided by
2N is the steady per-line cost, start-up excluded. Needs valgrind and pflogsumm (Debian packages).

    python3 bench/instructions_per_line.py            # N = 20000
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def instructions(cmd: list[str]) -> int:
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True,
    )  # fmt: skip
    found = re.search(r"Collected : (\d+)", result.stderr)
    if found is None:
        sys.exit(f"no instruction count from valgrind for {cmd[0]}")
    return int(found[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=20_000, help="N")
    args = parser.parse_args()
    for tool in ("valgrind", "pflogsumm"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            sys.exit(f"{tool} not found: apt-get install {tool}")
    pflogsumm = shutil.which("pflogsumm") or "/usr/sbin/pflogsumm"
    with tempfile.TemporaryDirectory() as tmp:
        small, large = Path(tmp) / "small.log", Path(tmp) / "large.log"
        generated = subprocess.run(
            [sys.executable, str(ROOT / "scripts/gen_postfix_log.py"), "--lines", str(3 * args.lines)],
            capture_output=True, check=True,
        ).stdout  # fmt: skip
        large.write_bytes(generated)
        small.write_bytes(b"".join(generated.splitlines(keepends=True)[: args.lines]))
        tools = {
            "pflogsumm (Debian, counts only)": ["/usr/bin/perl", pflogsumm],
            "shipper parse -j 1 (NDJSON)": [sys.executable, "-m", "shipper", "parse", "--timezone", "UTC"],
        }
        counts = {}
        for name, cmd in tools.items():
            counts[name] = (instructions([*cmd, str(large)]) - instructions([*cmd, str(small)])) / (2 * args.lines)
    peer = counts["pflogsumm (Debian, counts only)"]
    print(f"steady state, lines {args.lines}..{3 * args.lines} of a generated Postfix log")
    print(f"{'tool':36} {'instructions/line':>18} {'pflogsumm/tool':>15}")
    for name, count in counts.items():
        print(f"{name:36} {count:18.0f} {peer / count:14.2f}x")


if __name__ == "__main__":
    main()
