"""The one step from a framed event to what an output receives: parse → correlate/enrich → address → output.

`Pipeline.parse` turns an input's frames into events (every command); `Shipping` joins them to their
message (`Correlator.join`: delivery lines learn their message's sender and client), addresses them and
hands them to the output with the acknowledgement token the input gave, and writes the message
transaction documents the correlator closes (and, for a long-running service, the open ones that
changed).

Every event is addressed: data stream `logs-<event.dataset>-<namespace>` (data_stream.* set to match),
`log.file.path` and `log.offset` (the line's byte offset in the decompressed input), `host.name` (the
machine `run` runs on, a syslog sender, else the host the line names, else `ingest --host-name` or this
machine), `ecs.version` and `related.*` (enrich/ecs.py), and an `_id` that depends only on the input's
identity, that offset and the line's bytes:
the same log re-read under another name, after logrotate compressed it, by `ingest` or by `run`, gets the
same ids and creates no duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import orjson

from shipper.core.ids import event_id
from shipper.core.timefmt import now_iso
from shipper.enrich.correlate import Correlator, Transaction
from shipper.enrich.ecs import complete
from shipper.enrich.geoip import GeoIp
from shipper.outputs.base import Output, Record
from shipper.parse.packs import Pack, load_packs
from shipper.parse.parser import Parser
from shipper.parse.sniff import detect_by_content
from shipper.parse.stats import Coverage
from shipper.pipeline.context import Frame, InputContext

if TYPE_CHECKING:
    from shipper.kql.prefilter import LinePrefilter


@dataclass(frozen=True)
class ParseSettings:
    """How a command parses: zone for timestamps without one, a pack forced for every input, a fixed
    reference date (None: each input's own, see pipeline/context.py), and a test a line must pass to be
    parsed at all (`shipper grep`: kql/prefilter.py; the others parse every line)."""

    timezone: str | None = None
    source: str | None = None
    reference: date | None = None
    prefilter: LinePrefilter | None = None


class Pipeline:
    """Parsers (compiled once per forced pack) and the coverage of everything parsed."""

    def __init__(self, settings: ParseSettings, packs: tuple[Pack, ...] | None = None) -> None:
        self.settings = settings
        self.packs = packs if packs is not None else load_packs()
        self.parsers: dict[tuple[str | None, str | None], Parser] = {}
        self.coverage = Coverage()
        self.parser(settings.source)  # fail now on a bad pack, source or zone

    def parser(self, source: str | None, timezone: str | None = None) -> Parser:
        """The parser of a forced pack (or none) in a zone (None: the command's); compiled once each."""
        key = (source, timezone)
        parser = self.parsers.get(key)
        if parser is None:
            zone = timezone or self.settings.timezone
            parser = self.parsers[key] = Parser(self.packs, timezone=zone, source=source)
        return parser

    def context(
        self, *, path: str | None, source: str | None = None, last_write: Callable[[], float] | None = None,
        identity: bytes | None = None, timezone: str | None = None, host_name: str | None = None,
        peer: str | None = None,
    ) -> InputContext:  # fmt: skip
        if timezone is not None:
            self.parser(source or self.settings.source, timezone)  # fail now on a bad zone
        return InputContext(
            packs=self.packs, path=path, source=source or self.settings.source, reference=self.settings.reference,
            last_write=last_write, identity=identity, timezone=timezone, host_name=host_name, peer=peer,
        )  # fmt: skip

    def _ready(self, ctx: InputContext) -> Parser:
        parser = self.parser(ctx.source, ctx.timezone)
        parser.set_reference(ctx.reference())  # a no-op unless the date changed
        parser.set_path_source(ctx.file_source)
        return parser

    def detect(self, ctx: InputContext, texts: Iterable[str]) -> None:
        """Decide, from an input's first lines, whose own file it is when neither its name nor a forced source
        did (see parse/sniff.py); a no-op after the first call."""
        if ctx.undecided:
            parser = self.parser(None, ctx.timezone)
            parser.set_reference(ctx.reference())
            ctx.adopt(self.packs, detect_by_content(parser, texts))

    def parse(self, ctx: InputContext, frames: list[Frame]) -> Iterator[tuple[Frame, dict[str, Any], str]]:
        """(frame, event, its dataset) for each frame."""
        events = self._events(ctx, ((frame.text, frame.tags) for frame in frames))
        for frame, (doc, dataset) in zip(frames, events, strict=True):
            yield frame, doc, dataset

    def parse_texts(self, ctx: InputContext, texts: Iterable[tuple[str, list[str]]]) -> Iterator[dict[str, Any]]:
        """Events without offsets (`shipper parse`, `report`): the same documents `parse` gives."""
        for doc, _ in self._events(ctx, texts):
            yield doc

    def _events(
        self, ctx: InputContext, texts: Iterable[tuple[str, list[str]]]
    ) -> Iterator[tuple[dict[str, Any], str]]:
        """(event, its dataset) of each text, counted in the coverage."""
        parser = self._ready(ctx)
        hits = self.coverage.hits
        for text, tags in texts:
            doc, (dataset, rule) = parser.parse_doc(text, tags or None)
            hits[dataset, rule, _program(doc)] += 1
            yield doc, dataset


def _program(doc: dict[str, Any]) -> str | None:
    process = doc.get("process")
    return process.get("name") if process is not None else None


class Addresser:
    """Where an event goes and what it is known by (see the module doc)."""

    def __init__(self, namespace: str, host_name: str | None = None, default_host: str | None = None,
                 geoip: GeoIp | None = None) -> None:  # fmt: skip
        self.namespace = namespace
        self.geoip = geoip
        self.host_name = host_name  # host.name: the machine shipper runs on (`shipper run` sets it)
        self.default_host = default_host  # else the host the line names, else this (`ingest --host-name`)
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

    def address(self, doc: dict[str, Any], dataset: str, ctx: InputContext, frame: Frame, read_at: str) -> Record:
        index, data_stream = self.target(dataset)
        if "@timestamp" not in doc:
            doc["@timestamp"] = read_at
        doc["data_stream"] = data_stream
        log = doc.get("log")
        if log is None:
            log = doc["log"] = {}
        if ctx.file_path is not None:
            log["file"] = {"path": ctx.file_path}
        log["offset"] = frame.offset
        if ctx.peer is not None:  # a sender's event is its host's: host.name is the host its lines name
            log["source"] = {"address": ctx.peer}
            doc["host"]["name"] = doc["host"]["hostname"]
        else:
            host = doc.get("host")
            host_name = ctx.host_name or self.host_name or (host or {}).get("hostname") or self.default_host
            if host_name is not None:
                if host is None:
                    doc["host"] = {"name": host_name}
                else:
                    host["name"] = host_name
        if self.geoip is not None:
            self.geoip.enrich(doc)
        complete(doc)
        return Record(index, event_id(ctx.identity or b"", frame.offset, frame.raw), orjson.dumps(doc))


def _sender_host(doc: dict[str, Any], peer: str) -> None:
    """A received message names its host in its header; one that does not is its sender's (the peer address):
    messages are joined into transactions per host, never across senders."""
    host = doc.get("host")
    if host is None:
        doc["host"] = {"hostname": peer}
    elif not host.get("hostname"):
        host["hostname"] = peer


def transaction_record(tx: Transaction, index: str) -> Record:
    """A message's document, replaced by its stable _id each time it is written (op `index`)."""
    doc = tx.doc()
    doc["host"]["name"] = doc["host"]["hostname"]
    complete(doc)
    return Record(index, tx.doc_id(), orjson.dumps(doc), op="index", kind="document")


class Shipping:
    """Events of every input of a command, joined, addressed and sent to one output."""

    def __init__(
        self, pipeline: Pipeline, output: Output, addresser: Addresser, correlator: Correlator | None = None,
        *, track_open: bool = False,
    ) -> None:  # fmt: skip
        self.pipeline = pipeline
        self.output = output
        self.addresser = addresser
        self.correlator = correlator
        self.transactions_index = f"mail-transactions-{addresser.namespace}"
        self.track_open = track_open  # keep the open messages that changed, for `update_open`
        self.changed: dict[int, Transaction] = {}
        self.events = 0  # line events handed to the output
        self.transactions = 0  # message documents handed to the output

    def ship(self, ctx: InputContext, frames: list[Frame], token: Callable[[Frame], Any] | None = None) -> None:
        read_at = now_iso()  # the timestamp of lines that carry none
        add, address, correlator = self.output.add, self.addresser.address, self.correlator
        for frame, doc, dataset in self.pipeline.parse(ctx, frames):
            if ctx.peer is not None:
                _sender_host(doc, ctx.peer)
            closed = self._join(doc) if correlator is not None else ()
            record = address(doc, dataset, ctx, frame, read_at)
            if token is not None:
                record.token = token(frame)
            self.events += 1
            add(record)
            for tx in closed:
                self.send_transaction(tx)

    def _join(self, doc: dict[str, Any]) -> list[Transaction]:
        assert self.correlator is not None
        closed = self.correlator.join(doc)
        current = self.correlator.current
        if self.track_open and current is not None:
            if current.complete:
                self.changed.pop(id(current), None)
            else:
                self.changed[id(current)] = current
        return closed

    def send_transaction(self, tx: Transaction) -> None:
        self.changed.pop(id(tx), None)
        if not self.output.replaces_documents:
            return  # the line events were enriched all the same
        self.transactions += 1
        self.output.add(transaction_record(tx, self.transactions_index))

    def update_open(self) -> None:
        """Rewrite the documents of open messages that changed (same _id: an update, never a duplicate)."""
        for tx in list(self.changed.values()):
            self.send_transaction(tx)

    def finish(self) -> None:
        """The inputs ended: every message still open, as incomplete."""
        if self.correlator is not None:
            for tx in self.correlator.finish():
                self.send_transaction(tx)
