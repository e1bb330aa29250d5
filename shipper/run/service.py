"""`shipper run`: follow the configured files and ship every line, at least once, ids making it exactly once.

Reading, parsing and batching happen on the main thread; the output writes on its own thread and
acknowledges each batch, in order. An acknowledgement moves the file's offset in memory; the registry is
saved from memory every `registry.flush_interval`, so it never claims a line the output has not confirmed.
While the output cannot keep up (Elasticsearch down), its bounded queue fills and reading simply waits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from shipper.enrich.correlate import Correlator, Transaction
from shipper.files import STATE_MODE, open_append, write_new
from shipper.ingest import Addresser, now_iso, transaction_pending
from shipper.outputs.elasticsearch import (
    BulkSettings,
    BulkStats,
    BulkWriter,
    ElasticsearchOutput,
    Interrupted,
    Pending,
)
from shipper.parse.multiline import Grouper, group_tags
from shipper.parse.packs import load_packs, multiline_specs
from shipper.parse.parser import Parser, detect_source
from shipper.parse.reader import decode_line
from shipper.run.config import ConfigError, RunConfig, load_config
from shipper.run.registry import Registry
from shipper.run.tailer import CompressedReader, Harvester, Tailer, TailerEvents

FLUSH_AFTER = 0.5  # seconds a partly filled batch may wait while more lines keep coming


class LineOutput:
    """NDJSON to stdout or a file, written synchronously: a batch is acknowledged once flushed (and, for
    a file, fsynced), so the registry never runs ahead of what is on disk."""

    def __init__(self, stream: BinaryIO, ack: Callable[[list[Pending]], None], sync: bool) -> None:
        self.stream = stream
        self.ack = ack
        self.sync = sync
        self.batch: list[Pending] = []
        self.stats = BulkStats()
        self.interrupt = threading.Event()
        self.batch_started = 0.0

    def add(self, event: Pending) -> None:
        if not self.batch:
            self.batch_started = time.monotonic()
        self.stream.write(event.source + b"\n")
        self.batch.append(event)
        if len(self.batch) >= 2000:
            self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        self.stream.flush()
        if self.sync:
            os.fsync(self.stream.fileno())
        self.stats.indexed += len(self.batch)
        self.ack(self.batch)
        self.batch = []

    def batch_age(self) -> float:
        return time.monotonic() - self.batch_started if self.batch else 0.0

    def depth(self) -> int:
        return 1 if self.batch else 0

    def give_up(self) -> None:
        self.interrupt.set()

    def close(self, timeout: float | None = None) -> BulkStats:
        self.flush()
        if self.stream is not sys.stdout.buffer:
            self.stream.close()
        return self.stats


Source = Harvester | CompressedReader


def _ack(batch: list[Pending]) -> None:
    """Advance each file's offset to the end of its last acknowledged line (batches arrive in order).
    Lines read before a truncation belong to an earlier generation and move nothing."""
    for event in batch:
        if event.token is None:  # a transaction document: no file position behind it
            continue
        source, generation, end = event.token
        if source.generation == generation:
            source.state.confirm(end)


class Service:
    def __init__(self, config: RunConfig, config_path: Path | None, log: Callable[[str], None]) -> None:
        self.config = config
        self.config_path = config_path
        self.log = log
        self.stopping = threading.Event()
        self.reload_requested = False
        self.wake = threading.Event()
        self.parsers: dict[str | None, Parser] = {}
        self.lines = 0
        self.output: Any = None
        self.groupers: dict[int, Grouper] = {}
        self.grouped_sources: dict[int, Source] = {}
        self.single_line_paths: set[str] = set()  # files whose pack has no multiline events
        self.multiline = multiline_specs(load_packs())
        self.deadline: threading.Timer | None = None
        self.deadline_at = 0.0
        self.correlator: Correlator | None = None
        self.emitted = self.acknowledged = 0  # line events handed to the output / confirmed by it
        self.changed: dict[int, Transaction] = {}  # open transactions whose document is out of date
        self.transactions_index = ""

    # --- wiring --------------------------------------------------------------------------------------
    def _output(self) -> ElasticsearchOutput | LineOutput:
        out = self.config.output
        if out.stdout:
            return LineOutput(sys.stdout.buffer, self._on_ack, sync=False)
        if out.file is not None:
            out.file.path.parent.mkdir(parents=True, exist_ok=True)
            return LineOutput(open_append(out.file.path), self._on_ack, sync=True)
        es = out.elasticsearch
        assert es is not None
        from shipper.elastic.connection import EsConnection

        connection = EsConnection.from_options(
            es.hosts, es.cloud_id, es.username, es.password_file, es.api_key_file, es.bearer_token_file, es.ca_file,
            es.fingerprint, insecure=not es.verify_certs, request_timeout=es.request_timeout,
        )  # fmt: skip
        client = connection.client()
        if es.setup:
            self._setup(client, es.max_backoff)
        tx_config = self.config.transactions
        if tx_config.enabled:
            self.correlator = Correlator(load_packs(), ttl=tx_config.ttl, max_open=tx_config.max_open)
            self.transactions_index = f"mail-transactions-{self._namespace()}"
        settings = BulkSettings(
            max_docs=es.batch_size, max_bytes=int(es.batch_mb * 1024 * 1024), retry_for=None,
            max_backoff=es.max_backoff, queue_batches=self.config.queue_batches,
        )  # fmt: skip
        writer = BulkWriter(client, settings, es.namespace, on_retry=lambda m: self.log(f"warning: {m}"))
        return ElasticsearchOutput(writer, ack=self._on_ack)

    def _on_ack(self, batch: list[Pending]) -> None:
        _ack(batch)
        self.acknowledged += sum(1 for event in batch if event.token is not None)

    @property
    def _snapshot_path(self) -> Path:
        return self.config.registry.path.with_name(self.config.registry.path.name + ".transactions.json")

    def _restore_transactions(self) -> None:
        """Messages open at the last clean stop go on where they were (the snapshot is used once)."""
        path = self._snapshot_path
        if self.correlator is None or not path.exists():
            return
        try:
            restored = self.correlator.restore(orjson.loads(path.read_bytes()))
            self.log(f"{restored} open message transactions carried over from the last stop")
        except (OSError, ValueError, TypeError, KeyError) as exc:
            self.log(f"warning: {path}: unusable ({exc}); open messages start afresh")
        path.unlink(missing_ok=True)

    def _save_transactions(self) -> None:
        """Only when every line read was acknowledged: lines read again after a restart would otherwise
        count twice in the messages they belong to."""
        if self.correlator is None or not self.correlator.open:
            return
        if self.acknowledged != self.emitted or self.groupers:
            self.log("open message transactions not carried over: not every line was acknowledged")
            return
        path = self._snapshot_path
        tmp = path.with_name(path.name + ".tmp")
        tmp.unlink(missing_ok=True)  # a leftover keeps its mode; a new one is made 0600
        write_new(tmp, orjson.dumps(self.correlator.snapshot()), STATE_MODE)
        os.replace(tmp, path)

    def _setup(self, client: Any, max_backoff: float) -> None:
        """Install the templates; a cluster not up yet (shipper started at boot before it) is waited for."""
        from elasticsearch import ApiError, TransportError

        from shipper.elastic.connection import describe_error
        from shipper.elastic.setup import run_setup
        from shipper.elastic.templates import LifecycleAges

        backoff = 0.5
        while not self.stopping.is_set():
            try:
                report = run_setup(client, LifecycleAges())
            except (TransportError, ApiError) as exc:
                if isinstance(exc, ApiError) and exc.status_code not in (429, 500, 502, 503, 504):
                    raise
                self.log(f"warning: setup: {describe_error(exc)}; retrying in {backoff:g}s")
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, max_backoff)
                continue
            for note in report.notes:
                self.log(f"setup: {note}")
            return

    def _namespace(self) -> str:
        es = self.config.output.elasticsearch
        return es.namespace if es is not None else "default"

    def _parser(self, source: str | None) -> Parser:
        parser = self.parsers.get(source)
        if parser is None:
            parser = self.parsers[source] = Parser(timezone=self.config.timezone, source=source)
        parser.set_reference(date.today())  # a no-op unless the day changed
        return parser

    def _tailer(self, registry: Registry) -> Tailer:
        events = TailerEvents(warn=lambda m: self.log(f"warning: {m}"), info=lambda m: self.log(m))
        return Tailer(
            self.config.effective_inputs(), registry, self.config.start_position, self.config.partial_line_timeout,
            rotate_grace=max(2.0, 2 * self.config.scan_interval), events=events,
        )  # fmt: skip

    def _watch(self, tailer: Tailer) -> Any:
        """watchdog for promptness; the scan interval's stat polling catches whatever it misses."""
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:  # pragma: no cover - a declared dependency
            return None
        wake = self.wake

        class Wake(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                wake.set()

        observer = Observer()
        for directory in tailer.watched_directories():
            if os.path.isdir(directory):
                try:
                    observer.schedule(Wake(), directory, recursive=False)
                except OSError as exc:
                    self.log(f"warning: cannot watch {directory} ({exc}); polling it every "
                             f"{self.config.scan_interval:g}s")  # fmt: skip
        observer.daemon = True
        observer.start()
        return observer

    # --- the loop ------------------------------------------------------------------------------------
    def run(self) -> int:
        registry = Registry.load(self.config.registry.path)
        self._install_signals()
        output = self.output = self._output()
        self._restore_transactions()
        tailer = self._tailer(registry)
        observer = self._watch(tailer)
        addresser = Addresser(self._namespace(), self.config.effective_host_name())
        metrics = self._metrics(output, tailer)
        poller = self._queue_poller()
        last_save = last_status = last_update = time.monotonic()
        next_scan = 0.0
        lines_at_status = 0
        try:
            while not self.stopping.is_set():
                now = time.monotonic()
                if self.reload_requested:
                    self._reload(tailer)
                if now >= next_scan or self.wake.is_set():
                    self.wake.clear()
                    tailer.scan()
                    next_scan = now + self.config.scan_interval
                read_any = False
                for source, lines in tailer.poll():
                    read_any = True
                    self._ship(source, lines, addresser, output)
                    if self.stopping.is_set():
                        break
                if self.groupers:
                    self._flush_groups(tailer, addresser, output)
                if poller is not None:
                    for snapshot_doc in poller.take():
                        output.add(snapshot_doc)
                if self.changed and now - last_update >= self.config.transactions.update_interval:
                    self._update_transactions(output)
                    last_update = now
                if output.batch_age() >= FLUSH_AFTER or (not read_any and output.depth()):
                    output.flush()
                if now - last_save >= self.config.registry.flush_interval:
                    registry.save_if_changed()
                    last_save = now
                if now - last_status >= self.config.status_interval:
                    self._status(output, tailer, (self.lines - lines_at_status) / (now - last_status))
                    last_status, lines_at_status = now, self.lines
                if not read_any and not tailer.lagging():
                    self.wake.wait(0.25)
        except Interrupted:
            pass  # shutdown deadline passed while the output was full
        finally:
            if poller is not None:
                poller.stop()
            self._shutdown(output, tailer, registry, observer)
            if metrics is not None:
                metrics.shutdown()
        return 0

    def _queue_poller(self) -> Any:
        settings = self.config.queue
        if not settings.enabled:
            return None
        from shipper.queue.poller import QueuePoller

        poller = QueuePoller(settings.mta, settings.mta_config, settings.interval, self._namespace(),
                             self.config.effective_host_name(), self.log)  # fmt: skip
        poller.start()
        self.log(f"queue input: {settings.mta} queue every {settings.interval:g}s into {poller.index}")
        return poller

    def _metrics(self, output: Any, tailer: Tailer) -> Any:
        settings = self.config.metrics
        if not settings.enabled:
            return None
        from shipper.run.metrics import serve

        def snapshot() -> dict[str, Any]:
            stats = output.stats
            files = [(h.path, h.state.offset, h.state.size) for h in list(tailer.harvesters.values())]
            return {
                "lines": self.lines, "indexed": stats.indexed, "already_present": stats.already_present,
                "dead_lettered": stats.dead_lettered, "failed": stats.failed, "retries": stats.retries,
                "depth": output.depth(), "files": files,
                "transactions_open": len(self.correlator.live) if self.correlator else 0,
                "transactions_evicted": self.correlator.evicted if self.correlator else 0,
            }  # fmt: skip

        server = serve(settings.host, settings.port, snapshot)
        self.log(f"metrics on http://{settings.host}:{settings.port}/metrics")
        return server

    def _ship(self, source: Source, lines: list[Any], addresser: Addresser, output: Any) -> None:
        grouper = self._grouper(source)
        if grouper is None:
            self._emit(source, [(ln.offset, ln.end, ln.raw, ln.truncated, 1) for ln in lines], addresser, output)
        else:
            groups = [g for ln in lines for g in grouper.feed(ln.offset, ln.end, ln.raw)]
            self._emit(source, [(g.offset, g.end, g.raw, g.cut, g.lines) for g in groups], addresser, output)
        self.lines += len(lines)

    def _emit(self, source: Source, events: list[tuple[int, int, bytes, bool, int]], addresser: Addresser,
              output: Any) -> None:  # fmt: skip
        parser = self._parser(source.source)
        parser.set_input(source.path)
        identity, generation, path = source.identity or b"", source.generation, os.path.abspath(source.path)
        read_at = now_iso()
        for offset, end, raw, cut, count in events:
            tags = group_tags(cut, count)
            text = decode_line(raw, tags)
            doc, key = parser.parse_doc(text, tags or None)
            closed = self._correlate(doc)
            event = addresser.address(doc, key[0], identity, offset, raw, path, read_at)
            event.token = (source, generation, end)
            self.emitted += 1
            output.add(event)
            for tx in closed:
                self._send_transaction(tx, output)

    def _correlate(self, doc: dict[str, Any]) -> list[Transaction]:
        """Join the line to its message; enrich a delivery line with what the message is known by."""
        correlator = self.correlator
        if correlator is None:
            return []
        closed = correlator.join(doc)
        current = correlator.current
        if current is not None:
            if current.complete:
                self.changed.pop(id(current), None)
            else:
                self.changed[id(current)] = current
        return closed

    def _send_transaction(self, tx: Transaction, output: Any) -> None:
        self.changed.pop(id(tx), None)
        output.add(transaction_pending(tx, self.transactions_index))

    def _update_transactions(self, output: Any) -> None:
        """Rewrite the documents of open messages that changed (same _id: an update, never a duplicate)."""
        for tx in list(self.changed.values()):
            self._send_transaction(tx, output)

    def _grouper(self, source: Source) -> Grouper | None:
        """The multiline grouper of a file whose pack (its input's, or the one its path names) declares
        multiline."""
        grouper = self.groupers.get(id(source))
        if grouper is None:
            path = os.fspath(source.path)
            if path not in self.single_line_paths:
                name = source.source or detect_source(path, load_packs())
                spec = self.multiline.get(name) if name else None
                if spec is None:
                    self.single_line_paths.add(path)
            else:
                spec = None
            if spec is None:
                return None
            grouper = self.groupers[id(source)] = Grouper(spec)
            self.grouped_sources[id(source)] = source
        return grouper

    def _flush_groups(self, tailer: Tailer, addresser: Addresser, output: Any) -> None:
        """Ship an event whose lines stopped coming `timeout` ago, and the last one of a closed file."""
        open_ids = {id(h) for h in tailer.harvesters.values()} | {id(r) for r in tailer.compressed}
        for key, grouper in list(self.groupers.items()):
            source = self.grouped_sources[key]
            groups = grouper.flush(force=key not in open_ids)
            if groups:
                self._emit(source, [(g.offset, g.end, g.raw, g.cut, g.lines) for g in groups], addresser, output)
            if key not in open_ids:
                del self.groupers[key], self.grouped_sources[key]

    def _shutdown(self, output: Any, tailer: Tailer, registry: Registry, observer: Any) -> None:
        """Drain within `shutdown_timeout`: send what was read, wait for acknowledgements, save the registry.
        What is still unacknowledged at the deadline is simply read again at the next start."""
        self._arm_deadline()
        with contextlib.suppress(Interrupted):
            self._update_transactions(output)  # open messages as they stand now
        remaining = max(0.5, self.deadline_at - time.monotonic())
        try:
            stats = output.close(timeout=remaining)
        except Exception as exc:  # the output failed for good: keep what was acknowledged
            self.log(f"error: output: {exc}")
            stats = output.stats
        if self.deadline is not None:
            self.deadline.cancel()
        if observer is not None:
            observer.stop()
        tailer.close()
        registry.save()
        self._save_transactions()
        self.log(f"stopped: {self.lines} lines read; {_outcomes(stats)}; registry saved to {registry.path}")

    # --- signals, reload, status ---------------------------------------------------------------------
    def _arm_deadline(self) -> None:
        """From the stop request on, the output has `shutdown_timeout` seconds: then it stops waiting for
        room in its queue and for the cluster, wherever the main thread happens to be blocked."""
        if self.deadline is not None or self.output is None:
            return
        self.deadline_at = time.monotonic() + self.config.shutdown_timeout
        self.deadline = threading.Timer(self.config.shutdown_timeout, self.output.give_up)
        self.deadline.daemon = True
        self.deadline.start()

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def stop(signum: int, frame: object) -> None:
            self.log(f"{signal.Signals(signum).name}: draining (at most {self.config.shutdown_timeout:g}s)")
            self.stopping.set()
            self.wake.set()
            self._arm_deadline()

        def reload(signum: int, frame: object) -> None:
            self.reload_requested = True
            self.wake.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, reload)

    def _reload(self, tailer: Tailer) -> None:
        self.reload_requested = False
        if self.config_path is None:
            return
        try:
            new = load_config(self.config_path)
        except ConfigError as exc:
            self.log(f"SIGHUP: config not reloaded, it has errors:\n{exc}")
            return
        if new.output != self.config.output or new.registry != self.config.registry:
            self.log("SIGHUP: output and registry changes take effect at the next restart")
        tailer.inputs = new.effective_inputs()
        tailer.start_position = new.start_position
        tailer.partial_timeout = new.partial_line_timeout
        self.config = self.config.model_copy(update={"inputs": new.inputs, "status_interval": new.status_interval,
                                                     "scan_interval": new.scan_interval})  # fmt: skip
        self.log(f"SIGHUP: reloaded {self.config_path}: {len(tailer.inputs)} inputs")

    def _status(self, output: Any, tailer: Tailer, rate: float) -> None:
        stats = output.stats
        lag = ", ".join(
            f"{h.path} {max(0, h.state.size - h.state.offset)}B" for h in tailer.harvesters.values()
        )  # fmt: skip
        messages = ""
        if self.correlator is not None:
            messages = f"; messages open {len(self.correlator.live)}, given up {self.correlator.evicted}"
        self.log(
            f"status: {rate:.0f} lines/s, queue {output.depth()} batches, {_outcomes(stats)}{messages}; "
            f"lag: {lag or '-'}"
        )


def _outcomes(stats: BulkStats) -> str:
    return (
        f"indexed {stats.indexed}, already present {stats.already_present}, dead-lettered {stats.dead_lettered}, "
        f"failed {stats.failed}, retries {stats.retries}"
    )
