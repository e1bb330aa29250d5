"""What the Elasticsearch benchmarks share: which cluster to use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def es_url(given: str | None) -> str:
    """--es if given, else the test node scripts/es-test-cluster started."""
    if given:
        return given
    found = subprocess.run(
        [sys.executable, str(ROOT / "scripts/es-test-cluster"), "url"], capture_output=True, text=True
    )
    if found.returncode != 0:
        sys.exit("no Elasticsearch: pass --es URL or run scripts/es-test-cluster start")
    return found.stdout.strip()
