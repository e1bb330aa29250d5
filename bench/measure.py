"""What the peer comparisons share: run a command (or a shell pipeline), take its wall time, CPU time (user +
system of it and every process it waited for, from wait4) and peak RSS; interleave rounds so a slow spell
of a shared machine hits every contender alike; report medians and the ratio to the peer of the same run."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float
    rss_mib: float
    stdout: bytes


# Runs each command from a small Python (-S: ~8 MB), which times it and reads its rusage: Linux counts the
# resident pages a process had before exec() in its peak RSS, so a command started straight from this
# bench (tens of MB after its imports) would report the bench's size, not its own.
_LAUNCHER = """
import json, os, sys, time
argv = json.loads(sys.argv[1])
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(argv[0], argv)
_, status, usage = os.wait4(pid, 0)
print(json.dumps([time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss,
                  os.waitstatus_to_exitcode(status)]), file=sys.stderr)
"""


def run(cmd: list[str] | str, keep_output: bool = False) -> Sample:
    """One run; a string is a shell pipeline (its CPU includes every process of the pipeline, its peak RSS
    is the largest of them)."""
    argv = ["bash", "-o", "pipefail", "-c", cmd] if isinstance(cmd, str) else cmd
    with open(os.devnull, "wb") as sink:
        done = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, json.dumps(argv)], cwd=ROOT,
                              stdout=subprocess.PIPE if keep_output else sink, stderr=subprocess.PIPE)  # fmt: skip
    err = done.stderr.decode(errors="replace").rstrip().splitlines()
    wall, cpu, rss_kib, code = json.loads(err[-1])
    if code != 0:
        sys.exit(f"{cmd if isinstance(cmd, str) else ' '.join(argv)} failed ({code}): {' '.join(err[-6:-1])[-500:]}")
    return Sample(wall, cpu, rss_kib / 1024, done.stdout or b"")


def rounds(contenders: list[tuple[str, list[str] | str]], repeat: int) -> dict[str, list[Sample]]:
    """`repeat` interleaved rounds of every contender."""
    runs: dict[str, list[Sample]] = {name: [] for name, _ in contenders}
    for _ in range(repeat):
        for name, cmd in contenders:
            runs[name].append(run(cmd))
    return runs


def median_wall(samples: list[Sample]) -> float:
    return statistics.median(s.wall for s in samples)


def median_cpu(samples: list[Sample]) -> float:
    return statistics.median(s.cpu for s in samples)


def print_table(runs: dict[str, list[Sample]], peer: str, lines: int,
                targets: dict[str, tuple[float, str]] | None = None) -> dict[str, tuple[float, float]]:  # fmt: skip
    """Medians per contender and its speed relative to the peer (peer time / its time: 1.0 = as fast), by
    wall and by CPU time; `targets` (name -> (ratio, "wall"|"cpu")) adds whether each holds. Returns the ratios."""
    targets = targets or {}
    base_wall, base_cpu = median_wall(runs[peer]), median_cpu(runs[peer])
    repeat = len(runs[peer])
    print(f"median of {repeat}; {os.cpu_count()} cores; ratio = peer's time / this one's (1.00 = as fast as {peer})")
    print(f"{'tool':40} {'wall s':>7} {'CPU s':>7} {'lines/s':>9} {'RSS MB':>7} {'x wall':>7} {'x CPU':>7}  target")
    ratios: dict[str, tuple[float, float]] = {}
    for name, samples in runs.items():
        wall, cpu = median_wall(samples), median_cpu(samples)
        rss = max(s.rss_mib for s in samples)
        ratios[name] = (base_wall / wall, base_cpu / cpu)
        verdict = ""
        if name in targets:
            goal, basis = targets[name]
            got = ratios[name][0 if basis == "wall" else 1]
            verdict = f">= {goal:.2f} by {basis}: {'met' if got >= goal else 'NOT met'}"
        print(f"{name:40} {wall:7.2f} {cpu:7.2f} {lines / wall:9.0f} {rss:7.0f} {ratios[name][0]:7.2f}"
              f" {ratios[name][1]:7.2f}  {verdict}")  # fmt: skip
    return ratios


def repeated_log(source: Path, lines: int, out: Path) -> int:
    """A real capture repeated until it holds at least `lines` lines (its queue IDs recur, as on a server
    whose IDs wrap): the bench's second input beside the simulated log. Returns the line count."""
    text = source.read_bytes()
    if not text.endswith(b"\n"):
        text += b"\n"
    per_copy = text.count(b"\n")
    copies = max(1, -(-lines // per_copy))
    out.write_bytes(text * copies)
    return per_copy * copies


def inputs(given: Path | None, tmp: Path, label: str, write: Callable[[Path], None]) -> list[tuple[str, Path]]:
    """The bench's inputs: the given log alone, or a made one (`write` fills it) and the real Postfix
    capture repeated to as many lines."""
    if given is not None:
        return [("the given log", given)]
    made = tmp / "mail.log"
    write(made)
    capture = tmp / "capture.log"
    repeated_log(ROOT / "samples/postfix/debian-postfix.log", sum(1 for _ in made.open("rb")), capture)
    return [(label, made), ("real Postfix capture, repeated", capture)]
