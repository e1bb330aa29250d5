"""Per-dataset coverage: how many lines a specific rule matched and how many were tagged unparsed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Coverage:
    hits: Counter[tuple[str, str | None]] = field(default_factory=Counter)  # (dataset, rule or None)

    def add(self, dataset: str, rule: str | None) -> None:
        self.hits[dataset, rule] += 1

    def merge(self, other: Coverage) -> None:
        self.hits.update(other.hits)

    @property
    def lines(self) -> Counter[str]:
        totals: Counter[str] = Counter()
        for (dataset, _), n in self.hits.items():
            totals[dataset] += n
        return totals

    @property
    def matched(self) -> Counter[str]:
        totals: Counter[str] = Counter()
        for (dataset, rule), n in self.hits.items():
            if rule is not None:
                totals[dataset] += n
        return totals

    @property
    def total(self) -> int:
        return sum(self.lines.values())

    def rows(self) -> list[tuple[str, int, int, int, float]]:
        rows = []
        all_lines, all_matched = self.lines, self.matched
        for dataset in sorted(all_lines):
            lines, matched = all_lines[dataset], all_matched[dataset]
            rows.append((dataset, lines, matched, lines - matched, 100.0 * matched / lines if lines else 0.0))
        return rows
