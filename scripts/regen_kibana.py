"""Render kibana_dashboards/shipper-saved-objects.ndjson from kibana_dashboards/src/searches.yml (a test
checks they agree)."""

from __future__ import annotations

import sys
from pathlib import Path

from shipper.kibana.objects import format_problems, load_source, render

ROOT = Path(__file__).resolve().parent.parent / "kibana_dashboards"

if __name__ == "__main__":
    data = render(load_source(ROOT / "src" / "searches.yml"))
    problems = format_problems(data)
    if problems:
        sys.exit("\n".join(problems))
    (ROOT / "shipper-saved-objects.ndjson").write_bytes(data)
    print(f"kibana_dashboards/shipper-saved-objects.ndjson: {len(data.splitlines())} objects", file=sys.stderr)
