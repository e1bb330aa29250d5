from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from shipper.parse.parser import Parser

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
GOLDEN = ROOT / "tests" / "golden"
REFERENCE = date(2026, 11, 28)


def ecs_reference() -> Path | None:
    """ECS field definitions: $SHIPPER_ECS_FLAT, or shared/reference beside the checkout."""
    candidates = [os.environ.get("SHIPPER_ECS_FLAT", ""), str(ROOT.parent / "shared/reference/ecs/ecs_flat.yml")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def parser() -> Parser:
    return Parser(timezone="UTC", reference=REFERENCE)


def require_real(what: str, why_not: str | None, switch: str) -> None:
    """Skip a test that needs `what` when it is missing (`why_not`), unless the environment variable
    `switch` is 1 (.ci/run sets it): there a missing real part is a failure, not a skip."""
    if why_not is None:
        return
    if os.environ.get(switch) == "1":
        pytest.fail(f"a real {what} is required here ({switch}=1) but {why_not}")
    pytest.skip(f"real {what}: {why_not}")


def es_connection(hosts: list[str] | None = None, *, environ: dict[str, str] | None = None, insecure: bool = False,
                  **options: object):  # fmt: skip
    """A resolved connection built the one way the commands and the service build theirs (EsSettings)."""
    from shipper.elastic.connection import EsSettings

    return EsSettings.build(hosts=hosts or [], verify_certs=not insecure, **options).connection(environ or {})


def run_to_file(settings: dict, out: Path, expected: int, timeout: float = 120.0) -> list[dict]:
    """`shipper run` (the Service, in a thread) with `settings` writing NDJSON to `out`, until `expected`
    events are there (or `timeout`), then stopped; the events."""
    import threading
    import time

    import orjson

    from shipper.run.config import RunConfig
    from shipper.run.service import Service

    config = RunConfig.model_validate({**settings, "output": {"type": "file", "path": str(out)}})
    service = Service(config, None, log=lambda message: None)
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while (not out.exists() or out.read_bytes().count(b"\n") < expected) and time.monotonic() < deadline:
        time.sleep(0.05)
    service.stopping.set()
    thread.join(30)
    return [orjson.loads(line) for line in out.read_bytes().splitlines()] if out.exists() else []
