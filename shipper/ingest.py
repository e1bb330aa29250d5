"""Batch ingestion: read inputs to their end, parse, and hand every line's event to the Elasticsearch output.

Every event is addressed: data stream `logs-<event.dataset>-<namespace>` (data_stream.* set to match),
`log.file.path` and `log.offset` (the line's byte offset in the decompressed input), and an `_id` that
depends only on the input's identity, that offset and the line itself:

- a file's identity is its first line (up to 1 KiB) after decompression, so the same log re-ingested
  under another name, or after logrotate compressed it, gets the same ids and creates no duplicates;
- stdin's identity is the constant "-", so its ids come from each line's content and position.
"""

from __future__ import annotations

import hashlib
import os
from binascii import b2a_base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from shipper.enrich.correlate import Correlator, Transaction
from shipper.outputs.elasticsearch import BulkStats, ElasticsearchOutput, Pending
from shipper.parse.batch import BLOCK_BYTES, READ_ERRORS, ParseOptions
from shipper.parse.multiline import Grouped, Grouper, group_tags
from shipper.parse.packs import load_packs, multiline_specs
from shipper.parse.parser import Parser, detect_source
from shipper.parse.reader import decode_line, line_offsets, read_blocks, reference_date, split_block
from shipper.parse.stats import Coverage

IDENTITY_BYTES = 1024
STDIN_IDENTITY = b"-"
NAMESPACE_FORBIDDEN = set('\\/*?"<>|,#: -')


def check_namespace(namespace: str) -> str:
    """Data stream naming scheme: lowercase, no '-', at most 100 bytes."""
    bad = sorted(set(namespace) & NAMESPACE_FORBIDDEN)
    if not namespace or namespace != namespace.lower() or bad or len(namespace.encode()) > 100:
        raise ValueError(
            f"--namespace: {namespace!r} is not a valid data stream namespace "
            '(lowercase, at most 100 bytes, none of \\ / * ? " < > | , # : - or space)'
        )
    return namespace


def input_identity(first_block: bytes) -> bytes:
    first_line = first_block.split(b"\n", 1)[0]
    return first_line[:IDENTITY_BYTES]


def event_id(identity: bytes, offset: int, raw_line: bytes) -> str:
    """22 URL-safe characters: a 128-bit BLAKE2b of identity, offset and line."""
    digest = hashlib.blake2b(b"%b\0%d\0%b" % (identity, offset, raw_line), digest_size=16).digest()
    return b2a_base64(digest, newline=False)[:22].decode("ascii").replace("+", "-").replace("/", "_")


@dataclass
class IngestSummary:
    files: int = 0
    coverage: Coverage = field(default_factory=Coverage)
    unreadable: list[str] = field(default_factory=list)
    bulk: BulkStats = field(default_factory=BulkStats)
    transactions: int = 0  # message transaction documents written to mail-transactions-<namespace>
    transactions_evicted: int = 0  # of those, given up while open (the correlator's cap or ttl)

    @property
    def lines(self) -> int:
        return self.coverage.total

    @property
    def parsed(self) -> int:
        return sum(self.coverage.matched.values())

    @property
    def accounted(self) -> bool:
        """Every line read (and every transaction document) has exactly one outcome."""
        bulk = self.bulk
        return bulk.indexed + bulk.already_present + bulk.dead_lettered + bulk.failed == self.lines + self.transactions

    @property
    def ok(self) -> bool:
        """Every line indexed or already present: what a CI job loading logs can trust."""
        return not self.unreadable and self.bulk.failed == 0 and self.bulk.dead_lettered == 0 and self.accounted


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Addresser:
    """Turns a parsed event into its `Pending` bulk item: data stream, file and offset, id, timestamp."""

    def __init__(self, namespace: str, host_name: str | None = None) -> None:
        self.namespace = namespace
        self.host_name = host_name  # host.name: the machine shipper runs on (`shipper run` sets it)
        self.streams: dict[str, tuple[str, dict[str, str]]] = {}

    def target(self, dataset: str) -> tuple[str, dict[str, str]]:
        found = self.streams.get(dataset)
        if found is None:
            found = (
                f"logs-{dataset}-{self.namespace}",
                {"type": "logs", "dataset": dataset, "namespace": self.namespace},
            )
            self.streams[dataset] = found
        return found

    def address(
        self, doc: dict[str, Any], dataset: str, identity: bytes, offset: int, raw: bytes, file_path: str | None,
        read_at: str,
    ) -> Pending:  # fmt: skip
        index, data_stream = self.target(dataset)
        if "@timestamp" not in doc:
            doc["@timestamp"] = read_at
        doc["data_stream"] = data_stream
        log = doc.get("log")
        if log is None:
            log = doc["log"] = {}
        if file_path is not None:
            log["file"] = {"path": file_path}
        log["offset"] = offset
        if self.host_name is not None:
            host = doc.get("host")
            if host is None:
                doc["host"] = {"name": self.host_name}
            else:
                host["name"] = self.host_name
        return Pending(index, event_id(identity, offset, raw), orjson.dumps(doc))


def transaction_pending(tx: Transaction, index: str) -> Pending:
    """A message's document, replaced by its stable _id each time it is written (op `index`)."""
    return Pending(index, tx.doc_id(), orjson.dumps(tx.doc()), op="index")


def ingest_inputs(
    inputs: Iterator[tuple[Path | None, BinaryIO]],
    options: ParseOptions,
    namespace: str,
    output: ElasticsearchOutput,
    on_block: Callable[[Path | None, BinaryIO], None] = lambda path, stream: None,
    correlate: bool = True,
) -> IngestSummary:
    summary = IngestSummary()
    parser = Parser(timezone=options.timezone, source=options.source)
    addresser = Addresser(namespace)
    hits = summary.coverage.hits
    packs = load_packs()
    multiline = multiline_specs(packs)
    correlator = Correlator(packs) if correlate else None
    transactions_index = f"mail-transactions-{namespace}"

    def send(doc: dict[str, Any], key: tuple[str, str | None], identity: bytes, offset: int, raw: bytes,
             file_path: str | None, read_at: str) -> None:  # fmt: skip
        hits[key] += 1
        closed = correlator.join(doc) if correlator is not None else []
        output.add(addresser.address(doc, key[0], identity, offset, raw, file_path, read_at))
        for tx in closed:
            send_transaction(tx)

    def send_transaction(tx: Transaction) -> None:
        summary.transactions += 1
        output.add(transaction_pending(tx, transactions_index))

    def emit_group(group: Grouped, identity: bytes, file_path: str | None, read_at: str) -> None:
        tags = group_tags(group.cut, group.lines)
        doc, key = parser.parse_doc(decode_line(group.raw, tags), tags or None)
        send(doc, key, identity, group.offset, group.raw, file_path, read_at)

    for path, stream in inputs:
        source = options.source or (detect_source(path, packs) if path is not None else None)
        spec = multiline.get(source) if source else None  # events spanning lines (Zimbra's stack traces)
        grouper = Grouper(spec) if spec is not None else None
        summary.files += 1
        parser.set_reference(options.reference or reference_date(path))
        parser.set_input(path)
        file_path = os.path.abspath(path) if path is not None else None  # as Filebeat: absolute, links kept
        identity: bytes | None = STDIN_IDENTITY if path is None else None
        read = 0
        try:
            for base, block in read_blocks(stream, BLOCK_BYTES):
                if identity is None:
                    identity = input_identity(block)
                read_at = now_iso()  # the timestamp of lines that carry none
                raws = block.split(b"\n")
                lines = split_block(block)
                for (text, tags), offset, raw in zip(lines, line_offsets(base, block), raws, strict=False):
                    if grouper is not None:
                        for group in grouper.feed(offset, offset + len(raw) + 1, raw):
                            emit_group(group, identity, file_path, read_at)
                        continue
                    doc, key = parser.parse_doc(text, tags or None)
                    send(doc, key, identity, offset, raw, file_path, read_at)
                read += len(block)
                on_block(path, stream)
            if grouper is not None and identity is not None:
                for group in grouper.flush(force=True):
                    emit_group(group, identity, file_path, now_iso())
        except READ_ERRORS as exc:  # keep what was read, report, go on with the next input
            summary.unreadable.append(
                f"{file_path or 'stdin'}: unreadable after {read} bytes of data ({exc}); the lines before were sent"
            )
    if correlator is not None:
        for tx in correlator.finish():  # still in flight at the end of the input: indexed as incomplete
            send_transaction(tx)
        summary.transactions_evicted = correlator.evicted
    summary.bulk = output.close()
    return summary
