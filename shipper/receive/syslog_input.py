"""The syslog input of `shipper run`: a receiver (server.py) fills a store (store.py); the service polls this
input for the stored messages, one origin per sending host, and the output's acknowledgements release them.

An origin per sender host gives each its own context: its own multi-line state, and `log.source.address`
on its events, with the peer address standing in for `host.hostname` when a message's header names no host
(correlation keys on the host, so one sender's messages are never joined to another's). Acknowledgements may
come back out of store order (one sender's multi-line entry held while another's lines go on): the store is
released only up to the oldest message not yet confirmed.
"""

from __future__ import annotations

import ssl
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from shipper.pipeline.framing import Line
from shipper.pipeline.inputs import StreamOrigin
from shipper.receive.server import Receiver, _host
from shipper.receive.store import Message, Store

TAKE = 2000  # messages per poll


class SenderOrigin(StreamOrigin):
    """The messages of one sending host."""

    def __init__(self, owner: SyslogInput, host: str) -> None:
        self.owner = owner
        self.host = host
        self.pending: deque[int] = deque()  # ends of its messages taken and not yet confirmed

    @property
    def source(self) -> str | None:
        return self.owner.source

    @property
    def timezone(self) -> str | None:
        return self.owner.timezone

    @property
    def identity(self) -> bytes | None:
        return self.owner.store.identity

    @property
    def peer(self) -> str | None:
        return self.host

    def confirm(self, end: int) -> None:
        self.owner.confirm(self, end)


class SyslogInput:
    def __init__(
        self, receiver: Receiver, store: Store, *, source: str | None, timezone: str | None, name: str,
    ) -> None:  # fmt: skip
        self.receiver = receiver
        self.store = store
        self.source = source
        self.timezone = timezone
        self.name = name
        self.origins: dict[str, SenderOrigin] = {}
        self.order: deque[int] = deque()  # ends of taken messages, in store order
        self.done: set[int] = set()  # confirmed ends not yet at the front of `order`
        self.lock = threading.Lock()
        self.peers: dict[str, str] = {}  # the last peer address (with port) of each sender host

    def poll(self) -> Iterable[tuple[Any, list[Line]]]:
        messages = self.store.take(TAKE)
        if not messages:
            return []
        by_origin: dict[str, tuple[SenderOrigin, list[Line]]] = {}
        with self.lock:
            for message in messages:
                origin, lines = by_origin.get(_host(message.peer)) or self._origin(message, by_origin)
                lines.append(_line(message))
                origin.pending.append(message.end)
                self.order.append(message.end)
        return list(by_origin.values())

    def _origin(
        self, message: Message, by_origin: dict[str, tuple[SenderOrigin, list[Line]]]
    ) -> tuple[SenderOrigin, list[Line]]:
        host = _host(message.peer)
        origin = self.origins.get(host)
        if origin is None:
            origin = self.origins[host] = SenderOrigin(self, host)
        entry = by_origin[host] = (origin, [])
        return entry

    def confirm(self, origin: SenderOrigin, end: int) -> None:
        """Everything of `origin` up to `end` is in the output; release the store up to the oldest gap."""
        with self.lock:
            while origin.pending and origin.pending[0] <= end:
                self.done.add(origin.pending.popleft())
            released = None
            while self.order and self.order[0] in self.done:
                released = self.order.popleft()
                self.done.discard(released)
        if released is not None:
            self.store.release(released)

    def is_open(self, origin: Any) -> bool:
        return not self.receiver.stopping.is_set()

    def lagging(self) -> bool:
        return self.store.unread()

    def close(self) -> None:
        self.receiver.stop()
        self.store.close()

    def stats(self) -> dict[str, Any]:
        s = self.receiver.stats
        return {
            "name": self.name, "received": dict(s.received), "dropped": dict(s.dropped),
            "held_bytes": self.store.held_bytes(), "connections": s.connections,
            "evicted_connections": s.evicted_connections, "closed_idle": s.closed_idle,
            "tls_failures": s.tls_failures,
        }  # fmt: skip


def _line(message: Message) -> Line:
    return Line(message.position, message.end, message.payload, "truncated" in message.tags, tuple(message.tags))


class InputError(Exception):
    """An input that cannot start (a port taken or privileged, an unreadable certificate or spool)."""


def build(config: Any, log: Callable[[str], None], wake: Callable[[], None]) -> SyslogInput:
    """The input a `type: syslog` entry of the config describes (its sockets bound, serving)."""
    from shipper.receive.server import Endpoint, tls_context
    from shipper.receive.store import MemoryStore, Spool

    endpoints = [Endpoint.parse(text) for text in config.listen]
    tls = None
    try:
        if any(e.transport == "tls" for e in endpoints):
            assert config.tls is not None
            tls = tls_context(str(config.tls.certificate), str(config.tls.key),
                              str(config.tls.client_ca) if config.tls.client_ca else None)  # fmt: skip
    except (OSError, ssl.SSLError) as exc:
        raise InputError(f"syslog input: TLS certificate or key unusable: {exc}") from None
    try:
        store: Store = (
            Spool(config.spool.path, config.spool.max_size) if config.spool is not None
            else MemoryStore(config.memory_queue)
        )  # fmt: skip
    except (OSError, ValueError) as exc:
        raise InputError(f"syslog input: spool {config.spool.path}: {exc}") from None
    receiver = Receiver(
        endpoints, store, max_frame=config.max_frame, max_connections=config.max_connections,
        idle_timeout=config.idle_timeout, tls=tls, log=log, on_message=wake,
    )  # fmt: skip
    try:
        receiver.start()
    except OSError as exc:
        receiver.stop()
        store.close()
        hint = " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" if exc.errno == 13 else ""
        raise InputError(f"syslog input: cannot listen on {', '.join(map(str, endpoints))}: "
                         f"{exc.strerror or exc}{hint}") from None  # fmt: skip
    name = ", ".join(str(e) for e in endpoints)
    log(f"syslog input: listening on {name}" + (f", spool {config.spool.path}" if config.spool else ""))
    return SyslogInput(receiver, store, source=config.source, timezone=config.timezone, name=name)
