#!/usr/bin/env python3
"""The correlator under a flood of SMTP sessions that never finish a message (MAIL FROM, RCPT TO, QUIT: a
queue ID with `client=` and nothing after, as sender-verification probes leave).

Fills a Correlator to its cap with such transactions, then feeds as many more, each of which evicts the
least recently active. Prints memory per open transaction (RSS growth / count) and the cost per line at
the cap, beside the cost per line while filling (the peer: the same line, nothing to evict). Figures only.

    python3 bench/correlator_flood.py --open 1000000
"""

from __future__ import annotations

import argparse
import copy
import gc
import resource
import statistics
import time
from datetime import date

from shipper.enrich.correlate import Correlator
from shipper.parse.packs import load_packs
from shipper.parse.parser import Parser


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def probes(count: int, start: int) -> list[dict]:
    """Parsed once, then copied with another queue ID and time: parsing is not what is measured here."""
    parser = Parser(timezone="UTC", reference=date(2026, 11, 28))
    template = parser.parse_doc("Nov 28 10:00:00 mx postfix/smtpd[7]: 0000000001: client=probe.example[192.0.2.1]")[0]
    out = []
    for n in range(start, start + count):
        event = copy.deepcopy(template)
        event["email"]["local_id"] = f"{n:012X}"
        event["@timestamp"] = (
            f"2026-11-28T10:00:00.{n % 1_000_000:06d}Z"
            if n < 1_000_000
            else (f"2026-11-28T11:{n // 1_000_000 % 60:02d}:00.{n % 1_000_000:06d}Z")
        )
        out.append(event)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--open", type=int, default=1_000_000, help="the cap, filled with open transactions")
    parser.add_argument("--extra", type=int, default=100_000, help="lines fed at the cap (each evicts one)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    fill, extra = probes(args.open, 1), probes(args.extra, args.open + 1)
    gc.collect()
    fills, floods, per_tx = [], [], []
    for _ in range(args.repeat):
        correlator = Correlator(load_packs(), max_open=args.open)
        base = rss_bytes()
        start = time.process_time()
        for event in fill:
            correlator.feed(event)
        fills.append((time.process_time() - start) / len(fill))
        per_tx.append((rss_bytes() - base) / len(correlator.live))
        start = time.process_time()
        for event in extra:
            correlator.feed(event)
        floods.append((time.process_time() - start) / len(extra))
        assert correlator.evicted == args.extra
        del correlator
        gc.collect()
    print(f"open transactions: {args.open:,}; lines at the cap: {args.extra:,}; median of {args.repeat}")
    print(f"  memory per open transaction: {statistics.median(per_tx):,.0f} bytes (RSS growth / open)")
    print(f"  CPU per line while filling (nothing to evict): {statistics.median(fills) * 1e6:.1f} µs")
    print(f"  CPU per line at the cap (one eviction each): {statistics.median(floods) * 1e6:.1f} µs")
    print(f"  ratio at the cap / filling: {statistics.median(floods) / statistics.median(fills):.2f}")


if __name__ == "__main__":
    main()
