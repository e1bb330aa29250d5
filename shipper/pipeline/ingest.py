"""Batch ingestion (`shipper ingest`): read inputs to their end and ship every event through one output.

A file's identity (behind its event ids) is its first line after decompression, so the same log
ingested again under another name, or after logrotate compressed it, creates no duplicates; stdin's is
the constant "-", so its ids come from each line's content and position (pipeline/emit.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from shipper.enrich.correlate import Correlator
from shipper.enrich.geoip import GeoIp
from shipper.outputs.base import Output, OutputStats
from shipper.parse.stats import Coverage
from shipper.pipeline.emit import Addresser, ParseSettings, Pipeline, Shipping
from shipper.pipeline.framing import Line
from shipper.pipeline.inputs import read_inputs


@dataclass
class IngestSummary:
    files: int = 0
    coverage: Coverage = field(default_factory=Coverage)
    unreadable: list[str] = field(default_factory=list)
    bulk: OutputStats = field(default_factory=OutputStats)
    transactions: int = 0  # message transaction documents written to mail-transactions-<namespace>
    transactions_evicted: int = 0  # of those, given up while open (the correlator's cap or ttl)

    @property
    def lines(self) -> int:
        return self.coverage.total

    @property
    def parsed(self) -> int:
        """Lines a specific rule matched."""
        return sum(self.coverage.matched.values())

    @property
    def generic(self) -> int:
        """Lines only a pack's catch-all took (tagged `generic`)."""
        return sum(self.coverage.generic.values())

    @property
    def accounted(self) -> bool:
        """Every line read (and every transaction document) has exactly one outcome."""
        bulk = self.bulk
        done = bulk.indexed + bulk.documents + bulk.already_present + bulk.dead_lettered + bulk.failed
        return done == self.lines + self.transactions

    @property
    def ok(self) -> bool:
        """Every line indexed or already present: what a CI job loading logs can trust."""
        return not self.unreadable and self.bulk.failed == 0 and self.bulk.dead_lettered == 0 and self.accounted


def ingest_inputs(
    inputs: Iterable[tuple[Path | None, BinaryIO]],
    settings: ParseSettings,
    namespace: str,
    output: Output,
    on_block: Callable[[Path | None, BinaryIO], None] = lambda path, stream: None,
    correlate: bool = True,
    host_name: str | None = None,
    default_host: str | None = None,
    geoip: GeoIp | None = None,
    lines: tuple[bytes, Iterable[list[Line]]] | None = None,
) -> IngestSummary:
    """Every input, then `lines` (an identity and batches of lines an input framed itself: the journal)."""
    summary = IngestSummary()
    pipeline = Pipeline(settings)
    pipeline.coverage = summary.coverage
    correlator = Correlator(pipeline.packs) if correlate else None
    shipping = Shipping(pipeline, output, Addresser(namespace, host_name, default_host, geoip), correlator)

    def unreadable(path: Path | None, message: str) -> None:
        summary.unreadable.append(f"{path or 'stdin'}: {message}")

    for ctx, blocks in read_inputs(pipeline, inputs, on_block, unreadable, done="sent"):
        summary.files += 1
        for block in blocks:
            shipping.ship(ctx, ctx.frames(block.lines()))
        shipping.ship(ctx, ctx.flush(force=True))
    if lines is not None:
        identity, batches = lines
        ctx = pipeline.context(path=None, identity=identity, timezone="UTC")
        summary.files += 1
        for batch in batches:
            shipping.ship(ctx, ctx.frames(batch))
        shipping.ship(ctx, ctx.flush(force=True))
    shipping.finish()  # messages still in flight at the end of the input: indexed as incomplete
    summary.transactions = shipping.transactions
    summary.transactions_evicted = correlator.evicted if correlator is not None else 0
    summary.bulk = output.close()
    return summary
