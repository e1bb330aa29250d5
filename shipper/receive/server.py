"""The syslog listeners: UDP, TCP and TLS sockets served by one thread with a selector.

Whatever a sender does, the listener keeps serving the others: frames are bounded (frames.py), at
`max_connections` a new connection takes the place of the one silent the longest, one silent for
`idle_timeout` is closed, a TLS handshake that fails closes only that connection. Received messages go to
the store in batches, one per turn of the loop (for the spool: one fsync per batch). While the store has
no room, stream sockets are not read (their senders wait: TCP's own backpressure) and datagrams are read
and counted as dropped.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from shipper.receive.frames import StreamDecoder, datagram
from shipper.receive.store import Incoming, Store

READ_BYTES = 64 * 1024
MAX_BATCH = 2000  # messages per store append (and fsync)


@dataclass(frozen=True)
class Endpoint:
    transport: str  # udp, tcp or tls
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """`udp://0.0.0.0:514`, `tcp://127.0.0.1:5514`, `tls://[::]:6514`."""
        parts = urlsplit(text)
        if parts.scheme not in ("udp", "tcp", "tls") or not parts.hostname or parts.port is None:
            raise ValueError(f"expected udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT, got {text!r}")
        if parts.path or parts.query:
            raise ValueError(f"expected nothing after the port in {text!r}")
        return cls(parts.scheme, parts.hostname, parts.port)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.transport}://{host}:{self.port}"


@dataclass
class ReceiverStats:
    received: Counter[str] = field(default_factory=Counter)  # messages, per sender host
    dropped: Counter[str] = field(default_factory=Counter)  # UDP messages refused while the store was full
    evicted_connections: int = 0  # the longest silent, closed to make room beyond max_connections
    closed_idle: int = 0
    tls_failures: int = 0
    connections: int = 0  # open now


@dataclass
class _Connection:
    sock: socket.socket
    peer: str
    decoder: StreamDecoder
    last: float
    handshaking: bool = False


class Receiver:
    def __init__(
        self, endpoints: list[Endpoint], store: Store, *, max_frame: int, max_connections: int,
        idle_timeout: float, tls: ssl.SSLContext | None, log: Callable[[str], None],
        on_message: Callable[[], None] = lambda: None,
    ) -> None:  # fmt: skip
        self.endpoints = endpoints
        self.store = store
        self.max_frame = max_frame
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.tls = tls
        self.log = log
        self.on_message = on_message  # wakes the service
        self.stats = ReceiverStats()
        self.selector = selectors.DefaultSelector()
        self.connections: dict[int, _Connection] = {}
        self.stopping = threading.Event()
        self.pending: list[Incoming] = []
        self.listeners: list[socket.socket] = []
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind every endpoint (an error here is the caller's to report), then serve on a thread."""
        for endpoint in self.endpoints:
            self.listeners.append(self._bind(endpoint))
        self.thread = threading.Thread(target=self._serve, name="syslog-receiver", daemon=True)
        self.thread.start()

    def addresses(self) -> list[tuple[str, int]]:
        """Where each listener is bound (port 0 in the config: the port the system chose)."""
        return [s.getsockname()[:2] for s in self.listeners]

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
        for conn in list(self.connections.values()):
            self._close(conn)
        for sock in self.listeners:
            sock.close()
        self.selector.close()

    # --- sockets ------------------------------------------------------------------------------------
    def _bind(self, endpoint: Endpoint) -> socket.socket:
        family = socket.AF_INET6 if ":" in endpoint.host else socket.AF_INET
        kind = socket.SOCK_DGRAM if endpoint.transport == "udp" else socket.SOCK_STREAM
        sock = socket.socket(family, kind)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if kind == socket.SOCK_DGRAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        sock.bind((endpoint.host, endpoint.port))
        if kind == socket.SOCK_STREAM:
            sock.listen(1024)
        sock.setblocking(False)
        self.selector.register(sock, selectors.EVENT_READ, ("listener", endpoint))
        return sock

    def _serve(self) -> None:
        last_sweep = time.monotonic()
        while not self.stopping.is_set():
            room = self.store.room()
            for key, _ in self.selector.select(timeout=0.2):
                kind, what = key.data
                if kind == "listener":
                    if what.transport == "udp":
                        self._datagrams(key.fileobj, room)  # type: ignore[arg-type]
                    else:
                        self._accept(key.fileobj, what)  # type: ignore[arg-type]
                elif room:
                    self._read(what)
                if len(self.pending) >= MAX_BATCH:
                    self._flush()
            self._flush()
            if not room:
                time.sleep(0.05)  # the store is full: let the output catch up before reading more
            now = time.monotonic()
            if now - last_sweep >= 1.0:
                self._sweep_idle(now)
                last_sweep = now

    def _flush(self) -> None:
        if self.pending:
            batch, self.pending = self.pending, []
            try:
                self.store.append(batch)
            except OSError as exc:  # a full disk: these are lost, say so, and go on
                self.log(f"error: syslog spool: {exc}; {len(batch)} messages lost")
                return
            self.on_message()

    def _take(self, peer: str, payload: bytes, tags: list[str]) -> None:
        self.pending.append((peer, time.time(), payload, tags))
        self.stats.received[_host(peer)] += 1

    def _datagrams(self, sock: socket.socket, room: bool) -> None:
        for _ in range(256):  # a bounded burst per turn
            try:
                data, address = sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            peer = _peer(address)
            if not room:
                self.stats.dropped[_host(peer)] += 1
                continue
            frame = datagram(data, self.max_frame)
            if frame.payload:
                self._take(peer, frame.payload, frame.tags)

    def _accept(self, listener: socket.socket, endpoint: object) -> None:
        for _ in range(64):
            try:
                sock, address = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # out of descriptors: refuse for now, keep serving
                self.log(f"warning: syslog: accept failed: {exc}")
                return
            if len(self.connections) >= self.max_connections:
                # full: the connection silent the longest makes room, so a flood of idle connections cannot
                # lock out a sender that has something to say (a sender that goes on sending keeps its place)
                oldest = min(self.connections.values(), key=lambda c: c.last)
                self.stats.evicted_connections += 1
                for frame in oldest.decoder.close():
                    self._take(oldest.peer, frame.payload, frame.tags)
                self._close(oldest)
            sock.setblocking(False)
            handshaking = False
            if getattr(endpoint, "transport", "") == "tls" and self.tls is not None:
                try:
                    sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
                except (OSError, ssl.SSLError):
                    self.stats.tls_failures += 1
                    sock.close()
                    continue
                handshaking = True
            conn = _Connection(sock, _peer(address), StreamDecoder(self.max_frame), time.monotonic(), handshaking)
            self.connections[sock.fileno()] = conn
            self.selector.register(sock, selectors.EVENT_READ, ("connection", conn))
            self.stats.connections = len(self.connections)

    def _read(self, conn: _Connection) -> None:
        conn.last = time.monotonic()
        if conn.handshaking:
            try:
                conn.sock.do_handshake()  # type: ignore[attr-defined]
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return
            except (OSError, ssl.SSLError, ValueError):
                self.stats.tls_failures += 1
                self._close(conn)
                return
            conn.handshaking = False
        for _ in range(16):  # a bounded amount per connection per turn: fairness
            try:
                data = conn.sock.recv(READ_BYTES)
            except (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return
            except (OSError, ssl.SSLError):
                data = b""
            if not data:
                for frame in conn.decoder.close():
                    self._take(conn.peer, frame.payload, frame.tags)
                self._close(conn)
                return
            for frame in conn.decoder.feed(data):
                self._take(conn.peer, frame.payload, frame.tags)
            pending = getattr(conn.sock, "pending", None)
            if len(data) < READ_BYTES and not (pending and pending()):
                return

    def _sweep_idle(self, now: float) -> None:
        for conn in list(self.connections.values()):
            if now - conn.last > self.idle_timeout:
                self.stats.closed_idle += 1
                for frame in conn.decoder.close():
                    self._take(conn.peer, frame.payload, frame.tags)
                self._close(conn)

    def _close(self, conn: _Connection) -> None:
        fileno = conn.sock.fileno()
        self.connections.pop(fileno, None)
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(conn.sock)
        conn.sock.close()
        self.stats.connections = len(self.connections)


def _peer(address: tuple[object, ...]) -> str:
    host, port = str(address[0]), address[1]
    if host.startswith("::ffff:") and "." in host:
        host = host.removeprefix("::ffff:")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _host(peer: str) -> str:
    """The address of `ip:port` / `[ip6]:port`."""
    host = peer.rsplit(":", 1)[0]
    return host.strip("[]")


def tls_context(certificate: str, key: str, client_ca: str | None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate, key)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    return context
