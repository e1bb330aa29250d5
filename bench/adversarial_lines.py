#!/usr/bin/env python3
"""Worst-case parse time of garbage lines built to make rule regexes backtrack (a DoS check).

Prints the slowest (head, fragment) combinations at a few message lengths up to the 16 KiB cap above
which messages are not tried against rules. Figures only; nothing is asserted.

    python3 bench/adversarial_lines.py
"""

from __future__ import annotations

import time

from shipper.parse.parser import MAX_RULE_INPUT, Parser

HEADS = [
    "postfix/smtpd[1]: NOQUEUE: reject: RCPT from a[1.2.3.4]: 550 5.1.1 ",
    "postfix/smtp[1]: ABCDEF1234: to=<",
    "postfix/cleanup[1]: ABCDEF1234: reject: header ",
    "postfix/postscreen[1]: NOQUEUE: reject: RCPT from [1.2.3.4]:5: ",
    "postfix/smtp[1]: ABCDEF1234: host a[1.2.3.4] said: ",
    "postfix/cleanup[1]: ABCDEF1234: milter-reject: END-OF-MESSAGE from a[1.2.3.4]: ",
    "postfix/qmgr[1]: ABCDEF1234: from=<",
    "postfix/smtpd[1]: warning: ",
]
FRAGMENTS = ["; from=<", "[", "] ", " from ", "to=<", ">, ", "=", ": ", "a", " ", "(", ")", "; ", "<", ">", " said: "]


def main() -> None:
    parser = Parser(timezone="UTC")
    for head in HEADS:  # compile each daemon's rules before timing
        parser.parse_doc("Nov 28 10:00:00 mx " + head)
    for length in (2000, 8000, MAX_RULE_INPUT):
        worst: list[tuple[float, str, str]] = []
        for head in HEADS:
            for fragment in FRAGMENTS:
                line = "Nov 28 10:00:00 mx " + head + fragment * ((length - len(head)) // len(fragment))
                start = time.perf_counter()
                parser.parse_doc(line)
                worst.append((time.perf_counter() - start, head.split("[")[0], fragment))
        worst.sort(reverse=True)
        seconds, program, fragment = worst[0]
        print(f"message ~{length:6d} chars: worst {seconds * 1000:7.1f} ms ({program}, fragment {fragment!r})")


if __name__ == "__main__":
    main()
