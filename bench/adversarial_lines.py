#!/usr/bin/env python3
"""The ReDoS figures: the slowest rules of every pack on lines built to make them backtrack
(shipper/parse/adversarial.py; tests/parse/test_adversarial.py holds them to 50 ms per 16 KiB line), and
the whole parser on the worst of those lines beside a linear peer on the same line (`str.split`, which
reads each character once). Figures only; nothing is asserted.

    python3 bench/adversarial_lines.py [--top 10]
"""

from __future__ import annotations

import argparse
import time

from shipper.parse.adversarial import best_time, probes, worst_lines
from shipper.parse.parser import MAX_RULE_INPUT, Parser


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--top", type=int, default=10, help="rules to list")
    args = parser.parse_args()
    all_probes = list(probes())
    start = time.perf_counter()
    worst = worst_lines(all_probes, MAX_RULE_INPUT)
    print(f"{len(all_probes)} expressions (rules, derives, findalls), searched in {time.perf_counter() - start:.1f} s")
    seen: set[tuple[str, str, str]] = set()
    for timing in worst:
        key = (timing.probe.pack, timing.probe.rule, timing.probe.kind)
        if key not in seen:
            seen.add(key)
            print("  " + timing.describe())
        if len(seen) >= args.top:
            break
    head = worst[0]
    line = head.probe.messages[0][: head.cut] + head.token * ((MAX_RULE_INPUT - head.cut) // len(head.token))
    full = Parser(timezone="UTC")
    syslog = f"Nov 28 10:00:00 mx {head.probe.pack}[1]: {line}"
    parse = best_time(full.parse_doc, syslog, 5)
    peer = best_time(str.split, syslog, 5)
    print(f"the whole parser on the worst line: {parse * 1000:.2f} ms; str.split on it: {peer * 1000:.3f} ms "
          f"({parse / peer:.0f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
