"""The listener on real sockets, in process: transports, limits, backpressure and out-of-order acks."""

from __future__ import annotations

import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from shipper.receive.server import Endpoint, Receiver, tls_context
from shipper.receive.store import MemoryStore
from shipper.receive.syslog_input import SyslogInput


def _receiver(store: MemoryStore, *endpoints: str, tls: ssl.SSLContext | None = None, **limits) -> Receiver:
    settings = {"max_frame": 1024, "max_connections": 100, "idle_timeout": 60.0, **limits}
    receiver = Receiver([Endpoint.parse(e) for e in endpoints], store, tls=tls, log=lambda m: None, **settings)
    receiver.start()
    return receiver


def _until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _taken(store: MemoryStore, n: int) -> list:
    out: list = []
    _until(lambda: out.extend(store.take(1000)) or len(out) >= n)
    return out


def test_endpoints_are_parsed_strictly():
    assert str(Endpoint.parse("tls://[::1]:6514")) == "tls://[::1]:6514"
    for bad in ("tcp://host", "http://h:1", "udp://:514", "tcp://h:1/path"):
        with pytest.raises(ValueError):
            Endpoint.parse(bad)


def test_udp_and_tcp_messages_arrive_with_their_peer():
    store = MemoryStore(10**6)
    receiver = _receiver(store, "udp://127.0.0.1:0", "tcp://127.0.0.1:0")
    try:
        (udp_host, udp_port), (tcp_host, tcp_port) = receiver.addresses()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(b"<13>udp one\n", (udp_host, udp_port))
        with socket.create_connection((tcp_host, tcp_port)) as sender:
            sender.sendall(b"<13>tcp one\n9 <13>tcp 2")
        got = _taken(store, 3)
        assert sorted(m.payload for m in got) == [b"<13>tcp 2", b"<13>tcp one", b"<13>udp one"]
        assert all(m.peer.startswith("127.0.0.1:") for m in got)
        assert receiver.stats.received["127.0.0.1"] == 3
    finally:
        receiver.stop()


def test_a_full_store_drops_udp_counted_and_holds_tcp_back_without_loss():
    store = MemoryStore(max_bytes=1)  # full after the first message
    receiver = _receiver(store, "udp://127.0.0.1:0", "tcp://127.0.0.1:0")
    try:
        (udp_host, udp_port), (tcp_host, tcp_port) = receiver.addresses()
        with socket.create_connection((tcp_host, tcp_port)) as sender:
            sender.sendall(b"".join(b"<13>tcp %d\n" % i for i in range(50)))
            _until(lambda: store.unread())
            time.sleep(0.3)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                for i in range(5):
                    udp.sendto(b"<13>udp %d" % i, (udp_host, udp_port))
            _until(lambda: sum(receiver.stats.dropped.values()) == 5)
            got: list = []
            deadline = time.monotonic() + 10
            while len(got) < 50 and time.monotonic() < deadline:  # the output takes and confirms
                batch = store.take(1000)
                got += batch
                if batch:
                    store.release(batch[-1].end)
                time.sleep(0.02)
        assert [m.payload for m in got] == [b"<13>tcp %d" % i for i in range(50)]
    finally:
        receiver.stop()


def test_at_the_connection_limit_the_longest_silent_makes_room():
    store = MemoryStore(10**6)
    receiver = _receiver(store, "tcp://127.0.0.1:0", max_connections=5)
    idle = []
    try:
        address = receiver.addresses()[0]
        for _ in range(20):
            idle.append(socket.create_connection(address))
        time.sleep(0.3)
        with socket.create_connection(address) as sender:
            sender.sendall(b"<13>still served\n")
        assert [m.payload for m in _taken(store, 1)] == [b"<13>still served"]
        assert receiver.stats.evicted_connections >= 15 and receiver.stats.connections <= 5
    finally:
        for sock in idle:
            sock.close()
        receiver.stop()


def test_an_idle_connection_is_closed_and_its_partial_frame_kept():
    store = MemoryStore(10**6)
    receiver = _receiver(store, "tcp://127.0.0.1:0", idle_timeout=0.3)
    try:
        with socket.create_connection(receiver.addresses()[0]) as sender:
            sender.sendall(b"<13>no newline yet")
            got = _taken(store, 1)
            assert got[0].payload == b"<13>no newline yet" and got[0].tags == ["truncated"]
            assert receiver.stats.closed_idle == 1
    finally:
        receiver.stop()


def test_tls_serves_a_verified_client_and_survives_a_plain_text_one(tmp_path: Path):
    certificate, key = tmp_path / "c.pem", tmp_path / "k.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(key), "-out", str(certificate)], check=True, capture_output=True)  # fmt: skip
    store = MemoryStore(10**6)
    receiver = _receiver(store, "tls://127.0.0.1:0", tls=tls_context(str(certificate), str(key), None))
    try:
        address = receiver.addresses()[0]
        with socket.create_connection(address) as plain:  # not TLS at all
            plain.sendall(b"<13>plain text on a TLS port\n")
            time.sleep(0.3)
        client = ssl.create_default_context(cafile=str(certificate))
        with socket.create_connection(address) as raw, client.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"15 <13>over TLS 1")
        assert [m.payload for m in _taken(store, 1)] == [b"<13>over TLS 1"]
        assert receiver.stats.tls_failures >= 1
    finally:
        receiver.stop()


def test_acknowledgements_out_of_order_release_only_up_to_the_oldest_gap():
    store = MemoryStore(10**6)
    store.append([("192.0.2.1:1", 0.0, b"a1", []), ("192.0.2.2:1", 0.0, b"b1", []), ("192.0.2.1:1", 0.0, b"a2", [])])

    class Idle:
        stopping = type("E", (), {"is_set": staticmethod(lambda: False)})()

    syslog = SyslogInput(Idle(), store, source=None, timezone=None, name="test")  # type: ignore[arg-type]
    polled = {origin.host: (origin, lines) for origin, lines in syslog.poll()}
    (a, a_lines), (b, b_lines) = polled["192.0.2.1"], polled["192.0.2.2"]
    a.confirm(a_lines[-1].end)  # a1 and a2 are in; b1 is not: nothing may be released past b1
    assert [end for end, _ in store.sizes] == [b_lines[0].end, a_lines[1].end]  # a1 released, b1 and a2 held
    b.confirm(b_lines[-1].end)
    assert store.held_bytes() == 0
