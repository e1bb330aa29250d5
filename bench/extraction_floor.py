#!/usr/bin/env python3
"""What pulling a syslog line's fields out with a capturing regex costs, per line, in each regex engine at
hand, next to what Debian's pflogsumm spends on the whole line: the floor under any parser that gives
every line's fields, whatever runs the rest of it.

The regex is the envelope shipper tries first (`Mmm dd hh:mm:ss host prog[pid]: text`, eight groups);
every engine runs it over the same lines, in CPU seconds (process time: an engine's threads count). Perl
(pflogsumm's own engine) and Python's re are timed per line in a loop; polars (Rust's regex crate) and
DuckDB (RE2) per column, when they are installed (`pip install polars duckdb`: they are not shipper's
dependencies). `google-re2` is the binding shipper already uses for its reason classifier.

    python3 bench/extraction_floor.py                    # 200k generated Postfix lines, median of 3
    python3 bench/extraction_floor.py --log /var/log/mail.log
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from measure import ROOT

# shipper.parse.envelope._BSD_COMMON without its one look-ahead (`(?!\[ID \d)`), which Rust's regex and RE2
# do not have; the groups are the same.
ENVELOPE = (
    r"^((?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) (?P<clock>\d\d:\d\d:\d\d)) "
    r"(?P<host>[^\s\[\]]*[^\s\[\]:]) (?P<prog>[A-Za-z_][^\s\[\]:]*)\[(?P<pid>\d+)\]: (?P<msg>.*)$"
)
# The same pattern, its groups unnamed; Perl reads lines as pflogsumm does (while <>, chomp).
PERL = r"""
my $re = shift @ARGV;
my $envelope = qr/$re/;
my $n = 0;
while (<STDIN>) {
    chomp;
    if (my @f = $_ =~ $envelope) { $n++; }
}
print STDERR "$n\n";
"""


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_of(fn: Callable[[], int]) -> tuple[float, int]:
    start = time.process_time()
    matched = fn()
    return time.process_time() - start, matched


def child_cpu(cmd: list[str], log: Path) -> tuple[float, int]:
    before = children_cpu()
    with log.open("rb") as stream:
        done = subprocess.run(cmd, stdin=stream, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    lines = done.stderr.decode().split()
    return children_cpu() - before, int(lines[-1]) if lines and lines[-1].isdigit() else -1


def contenders(log: Path) -> dict[str, Callable[[], tuple[float, int]]]:
    import re

    import re2  # type: ignore[import-untyped]

    pflogsumm = shutil.which("pflogsumm") or "/usr/sbin/pflogsumm"
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    python_re = re.compile(ENVELOPE, re.S)
    google_re2 = re2.compile(ENVELOPE)

    def per_line(regex: Callable[[str], object]) -> Callable[[], int]:
        def run() -> int:
            matched = 0
            for line in lines:
                m = regex(line)
                if m is not None:
                    m.groups()  # type: ignore[attr-defined]
                    matched += 1
            return matched

        return run

    found: dict[str, Callable[[], tuple[float, int]]] = {
        "pflogsumm, whole run (for scale)": lambda: child_cpu([pflogsumm, str(log)], log),
        "perl, per line": lambda: child_cpu(["perl", "-e", PERL, re.sub(r"\?P<\w+>", "", ENVELOPE)], log),
        "python re, per line": lambda: cpu_of(per_line(python_re.match)),
        "google-re2, per line": lambda: cpu_of(per_line(google_re2.match)),
    }
    if importlib.util.find_spec("polars"):
        import polars as pl

        column = pl.Series("line", lines)

        def polars_run() -> int:
            groups = column.to_frame().select(pl.col("line").str.extract_groups(ENVELOPE).alias("g")).unnest("g")
            return groups.height - groups["msg"].null_count()

        found["polars (Rust regex), per column"] = lambda: cpu_of(polars_run)
    if importlib.util.find_spec("duckdb"):
        import duckdb

        con = duckdb.connect()
        con.execute("CREATE TABLE lines (line VARCHAR)")
        con.executemany("INSERT INTO lines VALUES (?)", [(line,) for line in lines])
        names = ["stamp", "mon", "day", "clock", "host", "prog", "pid", "msg"]
        query = "SELECT count(e.msg) FROM (SELECT regexp_extract(line, ?, ?) AS e FROM lines)"

        def duckdb_run() -> int:
            return int(con.execute(query, [ENVELOPE, names]).fetchone()[0])  # type: ignore[index]

        found["duckdb (RE2), per column"] = lambda: cpu_of(duckdb_run)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log", type=Path, help="an existing syslog file (default: generate a Postfix log)")
    parser.add_argument("--lines", type=int, default=200_000, help="lines to generate")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (medians)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = args.log
        if log is None:
            log = Path(tmp) / "postfix.log"
            with log.open("w") as out:
                subprocess.run([sys.executable, str(ROOT / "scripts/gen_postfix_log.py"), "--lines", str(args.lines)],
                               stdout=out, check=True)  # fmt: skip
        total = sum(1 for _ in log.open("rb"))
        runs = contenders(log)
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        matched: dict[str, int] = {}
        for _ in range(args.repeat):
            for name, run in runs.items():
                seconds, n = run()
                cpu[name].append(seconds)
                matched[name] = n
        print(f"{log}: {total} lines, {os.path.getsize(log) / 2**20:.1f} MiB; CPU µs per line, median of {args.repeat}")
        print(f"{'':40} {'µs/line':>8} {'lines matched':>14}")
        for name, seconds in cpu.items():
            shown = "" if matched[name] < 0 else str(matched[name])
            print(f"{name:40} {statistics.median(seconds) / total * 1e6:8.2f} {shown:>14}")
        if len({n for n in matched.values() if n >= 0}) > 1:
            sys.exit("the engines disagree on which lines the envelope matches")


if __name__ == "__main__":
    main()
