"""Render kibana_dashboards/shipper-saved-objects.ndjson and kibana_dashboards/README.md from
kibana_dashboards/src/ (a test checks they agree)."""

from __future__ import annotations

import sys
from pathlib import Path

from shipper.kibana.dashboards import load_dashboards, render_dashboards
from shipper.kibana.objects import format_problems, load_source, render
from shipper.kibana.readme import render_readme
from shipper.kibana.rules import load_rules

ROOT = Path(__file__).resolve().parent.parent / "kibana_dashboards"

if __name__ == "__main__":
    data = render(load_source(ROOT / "src" / "searches.yml")) + render_dashboards(
        load_dashboards(ROOT / "src" / "dashboards.yml")
    )
    problems = format_problems(data)
    if problems:
        sys.exit("\n".join(problems))
    (ROOT / "shipper-saved-objects.ndjson").write_bytes(data)
    readme = render_readme(
        load_source(ROOT / "src" / "searches.yml"),
        load_rules(ROOT / "src" / "rules.yml"),
        load_dashboards(ROOT / "src" / "dashboards.yml"),
    )
    (ROOT / "README.md").write_text(readme, encoding="utf-8")
    print(f"kibana_dashboards/shipper-saved-objects.ndjson: {len(data.splitlines())} objects", file=sys.stderr)
