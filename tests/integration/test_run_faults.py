"""`shipper run` under the faults that once lost or corrupted lines: a rotation compressed at once, a
kill -9 while the cluster is away, restarts; every line written is counted in Elasticsearch exactly once,
and no compressed bytes ever arrive as lines."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.integration.proxy import CuttableProxy
from tests.integration.runner import Shipper, Writer, generated_lines, indexed, wait_for


@pytest.fixture
def proxy(es_url: str):
    target = urlsplit(es_url)
    proxy = CuttableProxy(target.hostname or "127.0.0.1", target.port or 9200)
    proxy.up()
    yield proxy
    proxy.down()


def shipper_via(proxy: CuttableProxy, tmp: Path, namespace: str, es: Any) -> Shipper:
    """The templates are installed here, so the service does what a production one (setup: false) does
    when the cluster is away at its start: read the files and retry the output. Batches of the default
    size (2000), so what was read while the cluster was away fits in the output queue: the reader gets to
    the end of a file that none of whose lines is confirmed."""
    from shipper.elastic.setup import run_setup
    from shipper.elastic.templates import LifecycleAges

    run_setup(es, LifecycleAges())
    output = {"elasticsearch": {"hosts": [proxy.url], "namespace": namespace,
                                "request_timeout": "2s", "max_backoff": "500ms"}}  # fmt: skip
    return Shipper(tmp, proxy.url, namespace, [str(tmp / "mail.log*")], output=output)


def binary_lines(es: Any, namespace: str) -> int:
    es.indices.refresh(index=f"logs-mail.*-{namespace}", ignore_unavailable=True)
    return es.count(index=f"logs-mail.*-{namespace}", q="tags:invalid_utf8 OR tags:nul_bytes")["count"]


def test_a_rotation_compressed_while_the_cluster_was_away_is_read_again_after_a_kill(es, proxy, run_ns, tmp_path):
    """Ship 3000 lines, stop; append 3000, `mv mail.log mail.log.1 && gzip mail.log.1`; run 4 s against an
    unreachable cluster, kill -9; run with the cluster back. The second 3000 were once all lost: the entry
    was marked finished when read, and a finished entry is never read again."""
    lines = generated_lines(6000, seed=31)
    log = tmp_path / "mail.log"
    log.write_bytes(b"".join(lines[:3000]))
    shipper = shipper_via(proxy, tmp_path, run_ns, es)
    shipper.start()
    assert wait_for(es, shipper, 3000) == 3000
    assert shipper.stop() == 0
    with log.open("ab") as out:
        out.write(b"".join(lines[3000:]))
    os.rename(log, tmp_path / "mail.log.1")
    subprocess.run(["gzip", str(tmp_path / "mail.log.1")], check=True)
    proxy.down()
    shipper.start()
    time.sleep(4)
    shipper.kill9()
    proxy.up()
    shipper.start()
    assert wait_for(es, shipper, 6000) == 6000, shipper.log()[-3000:]
    time.sleep(1)
    assert shipper.stop() == 0, shipper.log()[-6000:]  # a stop that hangs dumps every thread's stack there
    assert indexed(es, run_ns) == 6000 and binary_lines(es, run_ns) == 0
    assert "may be lost" not in shipper.log()


def test_immediate_compression_kill_9_while_away_and_restarts_lose_and_duplicate_nothing(es, proxy, run_ns, tmp_path):
    """A writer at 400 lines/s; every 2.5 s `mv mail.log mail.log.N`, the writer reopens, `gzip mail.log.N`
    at once; the cluster goes away, shipper is killed twice while it is, then comes back."""
    lines = generated_lines(8000, seed=32)
    log = tmp_path / "mail.log"
    log.write_bytes(lines[0])
    shipper = shipper_via(proxy, tmp_path, run_ns, es)
    shipper.start()
    deadline = time.monotonic() + 60
    while "following from offset" not in shipper.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    writer = Writer(log, lines[1:], per_second=400)
    writer.start()
    rotations = 0

    def rotate() -> None:
        nonlocal rotations
        rotations += 1
        rotated = tmp_path / f"mail.log.{rotations}"
        with writer.lock:  # between two writes: the daemon reopens right after the rename
            os.rename(log, rotated)
            writer.reopen.set()
        subprocess.run(["gzip", str(rotated)], check=True)

    def for_a_while(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(2.5)
            rotate()

    for_a_while(5)
    proxy.down()  # away: lines keep coming and rotating
    for_a_while(5)
    shipper.kill9()
    shipper.start()
    for_a_while(5)
    shipper.kill9()
    shipper.start()
    proxy.up()
    writer.join()
    rotate()
    assert writer.written + 1 == len(lines)
    assert wait_for(es, shipper, len(lines), timeout=180) == len(lines), shipper.log()[-3000:]
    time.sleep(2)  # anything read twice under other ids, or compressed bytes read as text, would show now
    assert shipper.stop() == 0
    assert indexed(es, run_ns) == len(lines)
    assert binary_lines(es, run_ns) == 0
    assert rotations >= 6 and "may be lost" not in shipper.log()
