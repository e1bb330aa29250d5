"""The syslog input of `shipper run` with real senders (util-linux `logger`, OpenSSL's `s_client`, a real
rsyslogd forwarding with its own disk-assisted queue) into the real test cluster: every message once per
transport, nothing lost or duplicated across an outage and a `kill -9` with the spool, and hostile frames
and idle connections that leave the receiver serving everyone else."""

from __future__ import annotations

import os
import resource
import shutil
import socket
import struct
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.integration.proxy import CuttableProxy
from tests.integration.runner import Shipper

pytestmark = pytest.mark.skipif(shutil.which("logger") is None, reason="util-linux logger not installed")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def receiver(tmp: Path, es_url: str, namespace: str, listen: list[str], **extra: Any) -> Shipper:
    syslog: dict[str, Any] = {"type": "syslog", "listen": listen, "spool": {"path": str(tmp / "spool")}, **extra}
    output = {"elasticsearch": {"hosts": [es_url], "namespace": namespace, "setup": True, "batch_size": 500,
                                "request_timeout": "3s", "max_backoff": "500ms"}}  # fmt: skip
    return Shipper(tmp, es_url, namespace, [], inputs=[syslog], output=output)


def listening(shipper: Shipper, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert shipper.alive(), shipper.log()[-3000:]
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"not listening on {port}:\n{shipper.log()[-3000:]}")


def count(es: Any, namespace: str, program: str) -> int:
    es.indices.refresh(index=f"logs-mail.*-{namespace}", allow_no_indices=True, ignore_unavailable=True)
    query = {"term": {"process.name": program}}
    return int(es.count(index=f"logs-mail.*-{namespace}", query=query, ignore_unavailable=True)["count"])


def wait_count(es: Any, shipper: Shipper, program: str, expected: int, timeout: float = 90) -> int:
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        assert shipper.alive(), shipper.log()[-3000:]
        seen = count(es, shipper.namespace, program)
        if seen >= expected:
            break
        time.sleep(0.3)
    return seen


def logger(port: int, program: str, lines: list[str], *flags: str) -> None:
    """util-linux logger: one message per stdin line, over one connection for TCP."""
    subprocess.run(["logger", *flags, "-n", "127.0.0.1", "-P", str(port), "-t", program],
                   input="\n".join(lines) + "\n", text=True, check=True, timeout=60)  # fmt: skip


def messages(n: int, tag: str) -> list[str]:
    return [f"{tag} connect from host{i}.example[192.0.2.{i % 250 + 1}]" for i in range(n)]


def test_every_transport_delivers_each_message_once(es, es_url, run_ns, tmp_path):
    tcp, udp, tls = free_port(), free_port(socket.SOCK_DGRAM), free_port()
    certificate, key = _certificate(tmp_path)
    shipper = receiver(tmp_path, es_url, run_ns,
                       [f"tcp://127.0.0.1:{tcp}", f"udp://127.0.0.1:{udp}", f"tls://127.0.0.1:{tls}"],
                       tls={"certificate": str(certificate), "key": str(key)})  # fmt: skip
    shipper.start()
    try:
        listening(shipper, tcp)
        logger(tcp, "tcp-lf", messages(300, "lf"), "--tcp", "--rfc3164")
        logger(tcp, "tcp-octet", messages(300, "octet"), "--tcp", "--octet-count", "--rfc5424")
        for chunk in range(3):  # UDP carries no guarantee: an unhurried sender on loopback loses nothing
            logger(udp, "udp", messages(100, f"udp{chunk}"), "--udp", "--rfc5424")
            time.sleep(0.2)
        _openssl_send(tls, [f"<22>1 2026-11-29T10:00:00Z sender tls-octet - - - tls message {i}" for i in range(200)])
        for program, expected in (("tcp-lf", 300), ("tcp-octet", 300), ("udp", 300), ("tls-octet", 200)):
            assert wait_count(es, shipper, program, expected) == expected, (program, shipper.log()[-2000:])
        time.sleep(2)  # nothing arrives twice
        assert [count(es, run_ns, p) for p in ("tcp-lf", "tcp-octet", "udp", "tls-octet")] == [300, 300, 300, 200]
        assert shipper.stop() == 0
    finally:
        if shipper.alive():
            shipper.kill9()
    doc = es.search(index=f"logs-mail.*-{run_ns}", query={"term": {"process.name": "tcp-octet"}}, size=1)
    source = doc["hits"]["hits"][0]["_source"]
    assert source["log"]["source"]["address"] == "127.0.0.1"
    assert source["host"]["name"] == source["host"]["hostname"]


def test_an_outage_and_a_kill_9_with_the_spool_lose_and_duplicate_nothing(es, es_url, run_ns, tmp_path):
    target = urlsplit(es_url)
    proxy = CuttableProxy(target.hostname or "127.0.0.1", target.port or 9200)
    proxy.up()
    from shipper.elastic.setup import run_setup
    from shipper.elastic.templates import LifecycleAges

    run_setup(es, LifecycleAges())
    port = free_port()
    shipper = receiver(tmp_path, proxy.url, run_ns, [f"tcp://127.0.0.1:{port}"])
    try:
        shipper.start()
        listening(shipper, port)
        proxy.down()  # Elasticsearch is away: the spool holds everything
        logger(port, "spooled", messages(2000, "a"), "--tcp", "--octet-count", "--rfc5424")
        _spool_holds(tmp_path / "spool", 2000)
        shipper.kill9()  # nothing was acknowledged
        proxy.up()
        shipper.start()
        listening(shipper, port)
        logger(port, "spooled", messages(500, "b"), "--tcp", "--octet-count", "--rfc5424")
        assert wait_count(es, shipper, "spooled", 2500) == 2500, shipper.log()[-3000:]
        time.sleep(3)
        assert count(es, run_ns, "spooled") == 2500
        assert shipper.stop() == 0
    finally:
        if shipper.alive():
            shipper.kill9()
        proxy.down()


def test_rsyslog_forwarding_with_its_own_queue_delivers_everything_once(es, es_url, run_ns, tmp_path):
    """rsyslogd forwards over TCP (octet-counted) with its own queue. Across an Elasticsearch outage the
    connection stays up and backpressure holds the sender: every message exactly once. Across a restart of
    the collector, plain TCP syslog has no acknowledgement: rsyslog resends the batch it was writing when the
    connection went, so every message arrives, some of that batch twice (RELP would be needed to avoid it)."""
    rsyslogd = shutil.which("rsyslogd") or ("/usr/sbin/rsyslogd" if os.path.exists("/usr/sbin/rsyslogd") else None)
    if rsyslogd is None:
        if os.environ.get("SHIPPER_REQUIRE_RSYSLOG"):
            pytest.fail("rsyslogd is required here (SHIPPER_REQUIRE_RSYSLOG) but not installed")
        pytest.skip("rsyslogd not installed")
    target = urlsplit(es_url)
    proxy = CuttableProxy(target.hostname or "127.0.0.1", target.port or 9200)
    proxy.up()
    from shipper.elastic.setup import run_setup
    from shipper.elastic.templates import LifecycleAges

    run_setup(es, LifecycleAges())
    port, inbound = free_port(), free_port()
    shipper = receiver(tmp_path, proxy.url, run_ns, [f"tcp://127.0.0.1:{port}"])
    work = tmp_path / "rsyslog"
    work.mkdir()
    conf = work / "rsyslog.conf"
    conf.write_text(f"""
global(workDirectory="{work}")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="{inbound}")
action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp" TCP_Framing="octet-counted"
       template="RSYSLOG_SyslogProtocol23Format" action.resumeRetryCount="-1" action.resumeInterval="1"
       queue.type="LinkedList" queue.filename="forward" queue.saveOnShutdown="on" queue.size="100000")
""")
    forwarder = subprocess.Popen([rsyslogd, "-n", "-f", str(conf), "-i", str(work / "pid")],
                                 stdout=subprocess.DEVNULL, stderr=(work / "stderr").open("wb"))  # fmt: skip
    try:
        _wait_port(inbound)
        shipper.start()
        listening(shipper, port)
        logger(inbound, "relayed", messages(1000, "first"), "--tcp", "--octet-count", "--rfc5424")
        assert wait_count(es, shipper, "relayed", 1000) == 1000, shipper.log()[-2000:]
        proxy.down()  # Elasticsearch is away: the spool takes what comes, rsyslog's connection stays
        logger(inbound, "relayed", messages(1000, "second"), "--tcp", "--octet-count", "--rfc5424")
        _spool_holds(tmp_path / "spool", 1000)
        proxy.up()
        assert wait_count(es, shipper, "relayed", 2000, timeout=120) == 2000, shipper.log()[-2000:]
        time.sleep(3)
        assert count(es, run_ns, "relayed") == 2000  # exactly once
        assert shipper.stop() == 0  # the collector is away: rsyslog's queue holds what comes now
        logger(inbound, "relayed", messages(1000, "third"), "--tcp", "--octet-count", "--rfc5424")
        time.sleep(2)
        shipper.start()
        assert _distinct(es, run_ns, "relayed", 3000, shipper) == 3000, (work / "stderr").read_text()[-2000:]
        hosts = es.search(index=f"logs-mail.*-{run_ns}", query={"term": {"process.name": "relayed"}}, size=1)
        assert hosts["hits"]["hits"][0]["_source"]["log"]["source"]["address"] == "127.0.0.1"
        assert shipper.stop() == 0
    finally:
        forwarder.terminate()
        forwarder.wait(10)
        if shipper.alive():
            shipper.kill9()
        proxy.down()


def test_hostile_frames_and_idle_connections_leave_the_receiver_serving_others(es, es_url, run_ns, tmp_path):
    port = free_port()
    shipper = receiver(tmp_path, es_url, run_ns, [f"tcp://127.0.0.1:{port}"], max_connections=500, max_frame=8192)
    shipper.start()
    idle: list[socket.socket] = []
    try:
        listening(shipper, port)
        _send(port, b"\x00\xff\xfe binary \x01\x02\n" * 3)
        _send(port, b"<13>Jan  5 10:00:00 h hostile: " + b"A" * (1024 * 1024))  # 1 MiB, no newline
        _send(port, b"500 <13>Jan  5 10:00:00 h hostile: a count that lies")  # the connection ends mid-frame
        _send(port, b"99999999999 <13>Jan  5 10:00:00 h hostile: an absurd count\n")
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = min(10_000, hard - 200)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted + 100), hard))
        for _ in range(wanted):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            idle.append(sock)
        time.sleep(1)
        logger(port, "after-hostile", ["a sender still served"], "--tcp", "--octet-count", "--rfc5424")
        assert wait_count(es, shipper, "after-hostile", 1) == 1, shipper.log()[-2000:]
        hostile = es.search(index=f"logs-mail.*-{run_ns}", query={"exists": {"field": "tags"}}, size=50)
        tags = [set(h["_source"].get("tags", [])) for h in hostile["hits"]["hits"]]
        assert any({"truncated"} <= t for t in tags)
        assert any({"malformed_frame"} <= t for t in tags)
        assert any({"invalid_utf8"} <= t or {"nul_bytes"} <= t for t in tags)
        assert shipper.alive()
    finally:
        for sock in idle:
            sock.close()
        if shipper.alive():
            assert shipper.stop() == 0


def _send(port: int, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)


def _wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


def _distinct(es: Any, namespace: str, program: str, expected: int, shipper: Shipper, timeout: float = 120) -> int:
    """How many different messages arrived (a message sent twice counts once), waiting for `expected`."""
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        assert shipper.alive(), shipper.log()[-3000:]
        es.indices.refresh(index=f"logs-mail.*-{namespace}", allow_no_indices=True, ignore_unavailable=True)
        seen = len({h["_source"]["message"] for h in _all_hits(es, namespace, program)})
        if seen >= expected:
            break
        time.sleep(0.5)
    return seen


def _all_hits(es: Any, namespace: str, program: str) -> list[dict[str, Any]]:
    from elasticsearch import helpers

    return list(helpers.scan(es, index=f"logs-mail.*-{namespace}", query={"query": {"term": {"process.name": program}}},
                             _source=["message"]))  # fmt: skip


def _spool_holds(directory: Path, records: int, timeout: float = 30) -> None:
    """Wait until the spool's segments hold `records` whole records: sent is not yet spooled (a kill before
    the receiver read a message from the socket loses it, as with any plain TCP syslog sender)."""
    deadline = time.monotonic() + timeout
    found = 0
    while time.monotonic() < deadline:
        found = sum(_records(p.read_bytes()) for p in sorted(directory.glob("segment-*.spool")))
        if found >= records:
            return
        time.sleep(0.1)
    raise AssertionError(f"the spool holds {found} of {records} records: {list(directory.iterdir())}")


def _records(data: bytes) -> int:
    """Whole records in a segment (the store's layout: a `>IIQHH` header whose first field is the body's
    length, then the body)."""
    header = struct.Struct(">IIQHH")
    count = offset = 0
    while offset + header.size <= len(data):
        length = header.unpack_from(data, offset)[0]
        if offset + header.size + length > len(data):
            break
        offset += header.size + length
        count += 1
    return count


def _certificate(tmp: Path) -> tuple[Path, Path]:
    certificate, key = tmp / "receiver.pem", tmp / "receiver.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=localhost", "-keyout", str(key), "-out", str(certificate)],
                   check=True, capture_output=True)  # fmt: skip
    return certificate, key


def _openssl_send(port: int, lines: list[str]) -> None:
    """OpenSSL's own client as the TLS sender, RFC 5425 octet-counted frames."""
    payload = b"".join(f"{len(line.encode())} {line}".encode() for line in lines)
    subprocess.run(["openssl", "s_client", "-quiet", "-no_ign_eof", "-connect", f"127.0.0.1:{port}"],
                   input=payload, capture_output=True, check=False, timeout=30)  # fmt: skip
