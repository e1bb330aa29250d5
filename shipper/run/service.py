"""`shipper run`: follow the configured files and ship every line, at least once, ids making it exactly once.

Reading, parsing and batching happen on the main thread; the output writes on its own thread and
acknowledges each batch, in order. An acknowledgement moves the file's offset in memory; the registry is
saved from memory every `registry.flush_interval`, so it never claims a line the output has not confirmed.
While the output cannot keep up (Elasticsearch down), its bounded queue fills and reading simply waits.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from shipper.enrich.correlate import Correlator
from shipper.files import STATE_MODE, write_new
from shipper.outputs.base import Ack, Interrupted, Output, OutputStats, Record
from shipper.outputs.factory import open_output
from shipper.pipeline.context import Frame, InputContext
from shipper.pipeline.emit import Addresser, ParseSettings, Pipeline, Shipping
from shipper.pipeline.framing import Line, decode
from shipper.pipeline.inputs import Input, Origin
from shipper.receive.syslog_input import SyslogInput
from shipper.run.config import ConfigError, RunConfig, load_config
from shipper.run.follow import FilesInput
from shipper.run.registry import Registry, RunLock
from shipper.run.tailer import Tailer, TailerEvents

FLUSH_AFTER = 0.5  # seconds a partly filled batch may wait while more lines keep coming
# Caught up after reading something: wait this long before reading again, so lines a writer appends one by
# one gather into batches (without it the loop read ~2 lines per pass, 2,300 passes a second at 2,000
# lines/s). It bounds the latency it adds; a lagging input is read again at once.
LINGER = 0.05
IDLE_POLL = 0.1  # caught up with nothing read: read again after this long (appends wake nothing: follow.py)
STUCK_AFTER = 10.0  # seconds past shutdown_timeout after which a stop that has not finished is forced


def _noted(signum: int, frame: object) -> None:
    """A signal's Python-level handler: nothing (Service._install_signals says why)."""


def acknowledge(batch: list[Record]) -> None:
    """Advance each origin's offset to the end of its last acknowledged line (batches arrive in order).
    Lines read before an origin started over (a truncated file) belong to an earlier generation: void."""
    for record in batch:
        if record.token is None:  # a message or queue document: no input position behind it
            continue
        origin, generation, end = record.token
        if origin.generation == generation:
            origin.confirm(end)


class Service:
    def __init__(self, config: RunConfig, config_path: Path | None, log: Callable[[str], None]) -> None:
        self.config = config
        self.config_path = config_path
        self.log = log
        self.stopping = threading.Event()
        self.reload_requested = False
        self.wake = threading.Event()
        self.lines = 0
        self.output: Output | None = None
        self.pipeline = Pipeline(ParseSettings(timezone=config.timezone))
        self.contexts: dict[int, tuple[Origin, InputContext]] = {}  # per origin (file, connection)
        self.deadline: threading.Timer | None = None
        self.stuck: threading.Timer | None = None
        self.own_process = False  # `shipper run` itself (it installed the signal handlers)
        # the previous wakeup fd, the read and write ends of ours, the previous handlers
        self._wakeup: tuple[int, int, int, dict[signal.Signals, Any]] | None = None
        self.deadline_at = 0.0
        self._arming = threading.Lock()
        tx = config.transactions
        self.correlator = Correlator(self.pipeline.packs, ttl=tx.ttl, max_open=tx.max_open) if tx.enabled else None
        self.shipping: Shipping | None = None
        self.acknowledged = 0  # line events confirmed by the output
        self.receivers: list[SyslogInput] = []  # syslog inputs, for status and metrics

    # --- wiring --------------------------------------------------------------------------------------
    def _on_ack(self, batch: list[Record]) -> None:
        acknowledge(batch)
        self.acknowledged += sum(1 for record in batch if record.token is not None)

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
        emitted = self.shipping.events if self.shipping is not None else 0
        grouping = any(ctx.grouper is not None and ctx.grouper.pending for _, ctx in self.contexts.values())
        if self.acknowledged != emitted or grouping:
            self.log("open message transactions not carried over: not every line was acknowledged")
            return
        path = self._snapshot_path
        tmp = path.with_name(path.name + ".tmp")
        tmp.unlink(missing_ok=True)  # a leftover keeps its mode; a new one is made 0600
        write_new(tmp, orjson.dumps(self.correlator.snapshot()), STATE_MODE)
        os.replace(tmp, path)

    def _files(self, registry: Registry) -> FilesInput:
        events = TailerEvents(warn=lambda m: self.log(f"warning: {m}"), info=lambda m: self.log(m))
        tailer = Tailer(
            self.config.effective_inputs(), registry, self.config.start_position, self.config.partial_line_timeout,
            rotate_grace=max(2.0, 2 * self.config.scan_interval), events=events,
        )  # fmt: skip
        return FilesInput(tailer, self.config.scan_interval, self.wake, self.log)

    # --- the loop ------------------------------------------------------------------------------------
    def run(self, *, output: Callable[[Ack], Output] | None = None, inputs: list[Input] | None = None) -> int:
        """Until stopped. The output and the inputs are the configuration's, unless given (another program, a
        test): an output is built from the acknowledgement callback it must call; inputs are added to the files."""
        lock = RunLock(self.config.registry.path)
        lock.acquire()  # RegistryError: another run uses this registry
        try:
            registry = Registry.load(self.config.registry.path)
            receivers: list[Input] = [*self._receivers(), *self._journals(registry)]
            try:
                self._install_signals()
                built = output(self._on_ack) if output is not None else open_output(
                    self.config.output, self._on_ack, queue_batches=self.config.queue_batches, log=self.log,
                    stopping=self.stopping,
                )  # fmt: skip
            except BaseException:
                for receiver in receivers:
                    receiver.close()
                raise
            return self._loop(registry, built, [*receivers, *(inputs or [])])
        finally:
            self._restore_signals()
            lock.release()

    def _journals(self, registry: Registry) -> list[Input]:
        from shipper.journal.journal_input import JournalInput

        journals: list[Input] = []
        for settings in self.config.journald_inputs():
            journals.append(JournalInput(settings, registry.cursors, self.log, self.wake.set,
                                         from_end=self.config.start_position == "end"))  # fmt: skip
            where = settings.directory or ", ".join(map(str, settings.files)) or "this machine's journal"
            self.log(f"journald input: {where}" + (f", units {', '.join(settings.units)}" if settings.units else ""))
        return journals

    def _receivers(self) -> list[SyslogInput]:
        """The network inputs of the config, listening (InputError: one could not start; none is left open)."""
        from shipper.receive.syslog_input import build

        started: list[SyslogInput] = []
        try:
            for settings in self.config.syslog_inputs():
                started.append(build(settings, self.log, self.wake.set))
        except BaseException:
            for receiver in started:
                receiver.close()
            raise
        self.receivers = started
        return started

    def _loop(self, registry: Registry, output: Output, more: list[Input]) -> int:
        self.output = output
        addresser = Addresser(self.config.namespace(), self.config.effective_host_name(), geoip=self._geoip())
        shipping = self.shipping = Shipping(self.pipeline, output, addresser, self.correlator, track_open=True)
        self._restore_transactions()
        files = self._files(registry)
        inputs: list[Input] = [files, *more]
        metrics = self._metrics(output, files)
        poller = self._queue_poller()
        last_save = last_status = last_update = time.monotonic()
        lines_at_status = 0
        try:
            while not self.stopping.is_set():
                now = time.monotonic()
                if self.reload_requested:
                    self._reload(files)
                read_any = False
                for item in inputs:
                    for origin, lines in item.poll():
                        read_any = True
                        self.ship(origin, lines)
                        if self.stopping.is_set():
                            break
                self.flush_groups(inputs)
                if poller is not None:
                    for snapshot_doc in poller.take():
                        output.add(snapshot_doc)
                if shipping.changed and now - last_update >= self.config.transactions.update_interval:
                    shipping.update_open()
                    last_update = now
                caught_up = not any(item.lagging() for item in inputs)
                if output.batch_age() >= FLUSH_AFTER or (caught_up and output.depth()):
                    output.flush()
                if now - last_save >= self.config.registry.flush_interval:
                    registry.save_if_changed()
                    last_save = now
                if now - last_status >= self.config.status_interval:
                    self._status(output, files, (self.lines - lines_at_status) / (now - last_status))
                    last_status, lines_at_status = now, self.lines
                if caught_up:
                    if read_any:
                        self.stopping.wait(LINGER)
                    else:
                        self.wake.wait(IDLE_POLL)
        except Interrupted:
            pass  # shutdown deadline passed while the output was full
        finally:
            if poller is not None:
                poller.stop()
            self._shutdown(output, inputs, registry)
            if metrics is not None:
                metrics.shutdown()
        return 0

    def context(self, origin: Origin) -> InputContext:
        found = self.contexts.get(id(origin))
        if found is None:
            ctx = self.pipeline.context(
                path=origin.path,
                source=origin.source,
                last_write=origin.last_write,
                timezone=origin.timezone,
                peer=origin.peer,
            )
            found = self.contexts[id(origin)] = (origin, ctx)
        ctx = found[1]
        ctx.identity = origin.identity or b""  # a truncated file starts over with a new first line
        return ctx

    def ship(self, origin: Origin, lines: list[Line]) -> None:
        """One batch of an origin's lines through the pipeline; each event carries its acknowledgement token."""
        ctx = self.context(origin)
        if ctx.undecided:
            self.pipeline.detect(ctx, (decode(line)[0] for line in lines))
        self._ship_frames(origin, ctx, ctx.frames(lines))
        self.lines += len(lines)

    def _ship_frames(self, origin: Origin, ctx: InputContext, frames: list[Frame]) -> None:
        assert self.shipping is not None
        generation = origin.generation

        def token(frame: Frame) -> tuple[Origin, int, int]:
            return origin, generation, frame.end

        self.shipping.ship(ctx, frames, token)

    def flush_groups(self, inputs: list[Input]) -> None:
        """Ship a multi-line event whose lines stopped coming `timeout` ago, and the last one of a closed origin."""
        for key, (origin, ctx) in list(self.contexts.items()):
            still_open = any(item.is_open(origin) for item in inputs)
            if ctx.grouper is not None and ctx.grouper.pending:
                self._ship_frames(origin, ctx, ctx.flush(force=not still_open))
            if not still_open:
                del self.contexts[key]

    def _geoip(self) -> Any:
        if self.config.geoip is None:
            return None
        from shipper.enrich.geoip import GeoIp

        geoip = GeoIp([Path(p) for p in self.config.geoip.database])
        self.log(f"geoip: source.geo/source.as from {', '.join(self.config.geoip.database)}")
        return geoip

    def _queue_poller(self) -> Any:
        settings = self.config.queue
        if not settings.enabled:
            return None
        from shipper.queue.poller import QueuePoller

        poller = QueuePoller(settings.mta, settings.mta_config, settings.interval, self.config.namespace(),
                             self.config.effective_host_name(), self.log)  # fmt: skip
        poller.start()
        self.log(f"queue input: {settings.mta} queue every {settings.interval:g}s into {poller.index}")
        return poller

    def _metrics(self, output: Output, files: FilesInput) -> Any:
        settings = self.config.metrics
        if not settings.enabled:
            return None
        from shipper.run.metrics import serve

        def snapshot() -> dict[str, Any]:
            stats = output.stats
            return {
                "lines": self.lines, "indexed": stats.indexed, "documents": stats.documents,
                "already_present": stats.already_present,
                "dead_lettered": stats.dead_lettered, "failed": stats.failed, "retries": stats.retries,
                "depth": output.depth(), "files": files.lag(),
                "transactions_open": len(self.correlator.live) if self.correlator else 0,
                "transactions_evicted": self.correlator.evicted if self.correlator else 0,
                "syslog": [receiver.stats() for receiver in self.receivers],
            }  # fmt: skip

        server = serve(settings.host, settings.port, snapshot)
        self.log(f"metrics on http://{settings.host}:{settings.port}/metrics")
        return server

    def _shutdown(self, output: Output, inputs: list[Input], registry: Registry) -> None:
        """Drain within `shutdown_timeout`: send what was read, wait for acknowledgements, save the registry.
        What is still unacknowledged at the deadline is simply read again at the next start."""
        self._arm_deadline()
        with contextlib.suppress(Interrupted):
            if self.shipping is not None:
                self.shipping.update_open()  # open messages as they stand now
        remaining = max(0.5, self.deadline_at - time.monotonic())
        try:
            stats = output.close(timeout=remaining)
        except Exception as exc:  # the output failed for good: keep what was acknowledged
            self.log(f"error: output: {exc}")
            stats = output.stats
        if self.deadline is not None:
            self.deadline.cancel()
        for item in inputs:
            item.close()
        registry.save()
        self._save_transactions()
        self.log(f"stopped: {self.lines} lines read; {_outcomes(stats)}; registry saved to {registry.path}")
        # self.stuck stays armed: the process exits right after this, and the exit can hang too (a thread
        # that is not a daemon, an exit handler): it is forced as well. A daemon thread, it never delays one.

    # --- signals, reload, status ---------------------------------------------------------------------
    def _arm_deadline(self) -> None:
        """From the stop request on, the output has `shutdown_timeout` seconds: then it stops waiting for
        room in its queue and for the cluster, wherever the main thread happens to be blocked."""
        with self._arming:  # the signals thread and the main thread's _shutdown both arm it, once
            if self.deadline is not None or self.output is None:
                return
            self.deadline_at = time.monotonic() + self.config.shutdown_timeout
            self.deadline = threading.Timer(self.config.shutdown_timeout, self.output.give_up)
            self.deadline.daemon = True
            self.deadline.start()
            if self.own_process:  # never in a test's or a host program's process
                self.stuck = threading.Timer(self.config.shutdown_timeout + STUCK_AFTER, self._stuck)
                self.stuck.daemon = True
                self.stuck.start()

    def _stuck(self) -> None:
        """The stop request is long past and the service still runs: say where every thread is, and exit.
        Nothing is lost: what was not acknowledged is read again at the next start."""
        self.log(f"error: still stopping {self.config.shutdown_timeout + STUCK_AFTER:g}s after the stop request; "
                 "exiting (unacknowledged lines are read again at the next start); threads:")  # fmt: skip
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        sys.stderr.flush()
        os._exit(1)

    def _install_signals(self) -> None:
        """SIGTERM and SIGINT stop, SIGHUP reloads, SIGUSR1 writes every thread's stack.

        The Python-level handlers do nothing: the signal's number reaches a thread of its own through the
        wakeup fd, and that thread acts. A handler runs on the main thread between two of its bytecodes,
        possibly while that thread holds the lock of the very Event the handler would set (inside
        `Event.wait`): `Event.set()` from a handler then waits forever on its own thread, and the service
        never stops (it hung so in CI after an Elasticsearch restart)."""
        if threading.current_thread() is not threading.main_thread():
            return
        self.own_process = True
        read, write = os.pipe()
        os.set_blocking(write, False)
        handlers = {signum: signal.signal(signum, _noted) for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
        self._wakeup = (signal.set_wakeup_fd(write, warn_on_full_buffer=False), read, write, handlers)
        threading.Thread(target=self._signals, args=(read,), name="signals", daemon=True).start()
        # `kill -USR1` writes every thread's stack to stderr (the journal) and the service goes on: written
        # from C, so it answers even when no Python code runs.
        faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True, chain=False)

    def _signals(self, read: int) -> None:
        """Act on the signals the wakeup fd passes on, until it is closed."""
        while True:
            try:
                received = os.read(read, 64)
            except OSError:
                return
            if not received:
                return
            for signum in received:
                if signum in (signal.SIGTERM, signal.SIGINT):
                    self._stop_requested(signal.Signals(signum).name)
                elif signum == signal.SIGHUP:
                    self.reload_requested = True
                    self.wake.set()

    def _stop_requested(self, name: str) -> None:
        if not self.stopping.is_set():
            self.log(f"{name}: draining (at most {self.config.shutdown_timeout:g}s)")
        self._arm_deadline()  # before the loop can see `stopping` and reach _shutdown
        self.stopping.set()
        self.wake.set()

    def _restore_signals(self) -> None:
        if self._wakeup is None:
            return
        previous, read, write, handlers = self._wakeup
        self._wakeup = None
        signal.set_wakeup_fd(previous)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        faulthandler.unregister(signal.SIGUSR1)
        os.close(write)  # the signals thread reads the end and returns
        with contextlib.suppress(OSError):
            os.close(read)

    def _reload(self, files: FilesInput) -> None:
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
        inputs = new.effective_inputs()
        files.reload(inputs, new.start_position, new.partial_line_timeout, new.scan_interval)
        self.config = self.config.model_copy(update={"inputs": new.inputs, "status_interval": new.status_interval,
                                                     "scan_interval": new.scan_interval})  # fmt: skip
        self.log(f"SIGHUP: reloaded {self.config_path}: {len(inputs)} inputs")

    def _status(self, output: Output, files: FilesInput, rate: float) -> None:
        stats = output.stats
        lag = ", ".join(f"{path} {max(0, size - offset)}B" for path, offset, size in files.lag())
        messages = ""
        if self.correlator is not None:
            messages = f"; messages open {len(self.correlator.live)}, given up {self.correlator.evicted}"
        received = ""
        for receiver in self.receivers:
            s = receiver.stats()
            counts = f"received {sum(s['received'].values())}, dropped {sum(s['dropped'].values())}"
            received += f"; syslog {s['name']}: {counts}, held {s['held_bytes']}B, {s['connections']} connections"
        self.log(
            f"status: {rate:.0f} lines/s, queue {output.depth()} batches, {_outcomes(stats)}{messages}; "
            f"lag: {lag or '-'}{received}"
        )


def _outcomes(stats: OutputStats) -> str:
    return (
        f"{stats.verb} {stats.indexed} lines and {stats.documents} message/queue documents, already present "
        f"{stats.already_present}, dead-lettered {stats.dead_lettered}, "
        f"failed {stats.failed}, retries {stats.retries}"
    )
