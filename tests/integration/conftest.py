"""A real Elasticsearch for the integration tests: $ES_URL if it answers, else the project's test node
(scripts/es-test-cluster), started here when nobody else started it, and stopped again at the end."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ROOT, es_connection

SCRIPT = ROOT / "scripts" / "es-test-cluster"


def _script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(autouse=True)
def _no_shipper_outlives_its_test():
    yield
    from tests.integration.runner import STARTED

    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def es_url() -> Iterator[str]:
    found = _script("url")
    started = False
    if found.returncode != 0:
        found = _script("start")
        started = True
        if found.returncode != 0:
            pytest.fail(f"could not start the test Elasticsearch:\n{found.stderr}")
    yield found.stdout.strip()
    if started:
        _script("stop")


@pytest.fixture(scope="session")
def es(es_url: str) -> Any:
    return es_connection([es_url], environ={}).client()


@pytest.fixture(scope="session")
def namespace() -> str:
    """Runs share a cluster; each isolates itself in its own data stream namespace."""
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture
def run_ns(namespace: str, request: pytest.FixtureRequest) -> str:
    """A namespace of this test's own: counts would otherwise add up across tests."""
    import hashlib

    return namespace + hashlib.blake2b(request.node.name.encode(), digest_size=4).hexdigest()


def shipper(*args: str, input: bytes | None = None, timeout: float = 600) -> tuple[int, dict[str, Any], str]:
    """Run the real CLI; (exit status, the --json summary if printed, stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "shipper", *args], capture_output=True, input=input, timeout=timeout, cwd=ROOT
    )
    lines = [line for line in done.stdout.decode().splitlines() if line.startswith("{")]
    return done.returncode, json.loads(lines[-1]) if lines else {}, done.stderr.decode()
