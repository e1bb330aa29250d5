"""Conformance on lines nobody here wrote: per source, how many lines a specific rule matched, how many only
a catch-all took (generic) or nothing (unparsed), and how many of the fields the sets' authors expect
(`source.ip`, `source.domain`, `user.name`) shipper gives.

    python3 -m tests.conformance.measure [-v]           # the table [and every line whose fields disagree]
    python3 -m tests.conformance.measure --baseline     # after an improvement: raise the test's bar to it

Each set is `<source>/<file>` beside `<file>-expected.json` (provenance and expectations by line number;
scripts/import_conformance.py builds them). A set is read as a stream, as `shipper parse -` would, unless
its `path` says what the file is called on a server (a format without a syslog program).
"""

from __future__ import annotations

import io
import ipaddress
import json
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from shipper.core.event import flatten
from shipper.pipeline.emit import ParseSettings
from shipper.pipeline.parallel import parse_events

HERE = Path(__file__).resolve().parent
REFERENCE = date(2026, 11, 28)


@dataclass
class Figures:
    lines: int = 0
    matched: int = 0
    generic: int = 0
    unparsed: int = 0
    expected: int = 0  # lines with expected fields
    agreed: int = 0  # of those, lines where every expected field agrees
    disagreements: list[str] = field(default_factory=list)

    def add(self, other: Figures) -> None:
        for name in ("lines", "matched", "generic", "unparsed", "expected", "agreed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.disagreements += other.disagreements

    @property
    def gaps_pct(self) -> float:
        """Lines taken by a catch-all or by nothing, in percent."""
        return 100.0 * (self.generic + self.unparsed) / self.lines if self.lines else 0.0

    @property
    def agreement_pct(self) -> float:
        return 100.0 * self.agreed / self.expected if self.expected else 100.0


def sets() -> list[Path]:
    return sorted(p for p in HERE.glob("*/*") if p.is_file() and not p.name.endswith("-expected.json"))


def _same(name: str, got: Any, want: str) -> bool:
    values = got if isinstance(got, list) else [got]
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # a port: the sets write it as text
        if not isinstance(value, str):
            continue
        if name == "source.ip":
            try:
                if ipaddress.ip_address(value) == ipaddress.ip_address(want):
                    return True
            except ValueError:
                continue
        elif value.lower() == want.lower():
            return True
    return False


def measure(path: Path) -> Figures:
    meta = json.loads(path.with_name(path.name + "-expected.json").read_text(encoding="utf-8"))
    name = Path(meta["path"]) if meta.get("path") else None
    stream = io.BytesIO(path.read_bytes())
    events = list(parse_events(iter([(name, stream)]), ParseSettings(timezone="UTC", reference=REFERENCE)))
    figures = Figures(lines=len(events))
    first = 1  # the line an event starts on: a multi-line event (a pack's `multiline:`) spans several
    for event in events:
        n, first = first, first + event["event"]["original"].count("\n") + 1
        tags = event.get("tags") or []
        figures.generic += "generic" in tags
        figures.unparsed += "unparsed" in tags
        want = meta["expected"].get(str(n))
        if not want:
            continue
        figures.expected += 1
        flat = flatten(event)
        wrong = {k: flat.get(k) for k, v in want.items() if not _same(k, flat.get(k), v)}
        if wrong:
            figures.disagreements.append(f"{path.parent.name}/{path.name}:{n}: want {want}, got {wrong}")
        else:
            figures.agreed += 1
    figures.matched = figures.lines - figures.generic - figures.unparsed
    return figures


def by_source() -> dict[str, Figures]:
    out: dict[str, Figures] = {}
    for path in sets():
        out.setdefault(path.parent.name, Figures()).add(measure(path))
    return out


BASELINE = HERE / "baseline.json"
TARGET_GAPS_PCT, TARGET_AGREEMENT_PCT = 5.0, 95.0  # the bar for a source to count as done


def baseline(figures: dict[str, Figures]) -> dict[str, dict[str, float | bool]]:
    """What the test holds each source to: no worse than now, and the target once it is reached."""
    return {
        source: {
            "gaps_pct_max": round(f.gaps_pct, 1), "agreement_pct_min": round(f.agreement_pct, 1),
            "done": f.gaps_pct <= TARGET_GAPS_PCT and f.agreement_pct >= TARGET_AGREEMENT_PCT,
        }
        for source, f in figures.items()
    }  # fmt: skip


def main() -> int:
    figures = by_source()
    if "--baseline" in sys.argv:  # after an improvement: ratchet the test's bar up to the new figures
        BASELINE.write_text(json.dumps(baseline(figures), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{'source':<10} {'lines':>6} {'matched':>8} {'generic':>8} {'unparsed':>9} {'gaps %':>7} "
          f"{'expected':>9} {'agree %':>8}")  # fmt: skip
    for source, f in figures.items():
        print(f"{source:<10} {f.lines:>6} {f.matched:>8} {f.generic:>8} {f.unparsed:>9} {f.gaps_pct:>7.1f} "
              f"{f.expected:>9} {f.agreement_pct:>8.1f}")  # fmt: skip
    if "-v" in sys.argv:
        for f in figures.values():
            for line in f.disagreements:
                print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
