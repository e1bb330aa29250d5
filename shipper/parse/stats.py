"""Coverage, honestly counted: per dataset and program, the lines a specific rule matched, the lines only a
pack's catch-all took (`generic`: kept, but next to nothing extracted: a gap, not a success), and the lines
no rule took (`unparsed`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cache

Key = tuple[str, str | None, str | None]  # (dataset, rule id or None, program or None)


@cache
def generic_rules() -> frozenset[tuple[str, str]]:
    """(dataset, rule id) of every catch-all rule of the bundled packs."""
    from shipper.parse.packs import load_packs

    return frozenset((pack.dataset, rule.id) for pack in load_packs() for rule in pack.rules if rule.generic)


@dataclass(frozen=True)
class Row:
    dataset: str
    program: str | None  # None: every program of the dataset
    lines: int
    matched: int
    generic: int
    unparsed: int

    @property
    def matched_pct(self) -> float:
        return 100.0 * self.matched / self.lines if self.lines else 0.0


@dataclass
class Coverage:
    hits: Counter[Key] = field(default_factory=Counter)

    def add(self, dataset: str, rule: str | None, program: str | None = None) -> None:
        self.hits[dataset, rule, program] += 1

    def merge(self, other: Coverage) -> None:
        self.hits.update(other.hits)

    def _by(self, outcome: str | None) -> Counter[str]:
        generic = generic_rules()
        totals: Counter[str] = Counter()
        for (dataset, rule, _), n in self.hits.items():
            kind = "unparsed" if rule is None else "generic" if (dataset, rule) in generic else "matched"
            if outcome is None or kind == outcome:
                totals[dataset] += n
        return totals

    @property
    def lines(self) -> Counter[str]:
        return self._by(None)

    @property
    def matched(self) -> Counter[str]:
        """Lines a specific rule matched, per dataset."""
        return self._by("matched")

    @property
    def generic(self) -> Counter[str]:
        return self._by("generic")

    @property
    def unparsed(self) -> Counter[str]:
        return self._by("unparsed")

    @property
    def total(self) -> int:
        return sum(self.hits.values())

    def rows(self, by_program: bool = False) -> list[Row]:
        """One row per dataset (and, `by_program`, per program within it), sorted."""
        generic = generic_rules()
        table: dict[tuple[str, str | None], list[int]] = {}
        for (dataset, rule, program), n in self.hits.items():
            counts = table.setdefault((dataset, program if by_program else None), [0, 0, 0, 0])
            counts[0] += n
            counts[1 if rule is not None and (dataset, rule) not in generic else 2 if rule is not None else 3] += n
        return [
            Row(d, p, *counts)
            for (d, p), counts in sorted(table.items(), key=lambda item: (item[0][0], item[0][1] or ""))
        ]
