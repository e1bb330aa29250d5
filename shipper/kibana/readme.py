"""kibana_dashboards/README.md, rendered from the same sources as the objects (a test keeps it current)."""

from __future__ import annotations

from shipper.kibana.dashboards import Dashboard
from shipper.kibana.objects import Source
from shipper.kibana.rules import Rule

HEAD = """# kibana_dashboards

Kibana saved objects for what shipper indexes, built as code: `src/searches.yml` and `src/rules.yml` are the
readable sources, `shipper-saved-objects.ndjson` the file Kibana imports (Stack Management > Saved Objects >
Import, or `POST /api/saved_objects/_import`); `PYTHONPATH=. python3 scripts/regen_kibana.py` renders it and
this page, and a test fails when either is stale.

**Never imported into a live Kibana** (no Kibana runs where shipper is built). What is checked instead: the
format Kibana's import reads (one object per line; id, type, attributes, references; `searchSourceJSON` as a
JSON string; every reference resolved; ids unique; migration versions `coreMigrationVersion 8.8.0` and
`typeMigrationVersion 8.0.0`, the oldest format written, so Kibana 8.8+ and 9.x migrate them up on import);
every field a search or rule names is in `shipper/schema/fields.yml`; every query runs on the test
Elasticsearch loaded with the samples, a search with the count `shipper grep` gives over the same samples,
a rule with its per-term aggregation (`tests/integration/test_kql.py`).

`shipper setup --kibana URL [--kibana-space S]` installs them: it checks the version (`GET /api/status`,
8.8 or newer), imports the NDJSON (`POST /api/saved_objects/_import?overwrite=true`, multipart field `file`,
`kbn-xsrf`), and creates each rule through the alerting API (`POST /api/alerting/rule/<id>`), updating it
with `PUT` when it exists, so a second run changes nothing it should not; credentials from `KIBANA_API_KEY`
(or `--kibana-api-key-file`), or `KIBANA_USERNAME`/`KIBANA_PASSWORD`; TLS verified (`--kibana-ca-file`).
`shipper setup --export DIR` writes the exact bodies it would send. Tested against a local HTTP server that
checks every request as Kibana's endpoints would (`tests/kibana/test_install.py`): **not a real Kibana**.

The dashboards' panels are by-value Lens visualizations; the tests check each layer as Lens reads it (its
columns, the visualization's accessors, the data view reference, every field defined and aggregatable) and
run the aggregation Kibana would send for each panel on the test cluster loaded with the samples.
"""


def render_readme(source: Source, rules: list[Rule], dashboards: list[Dashboard]) -> str:
    out = [HEAD, "## Dashboards (Lens panels)", ""]
    for dashboard in dashboards:
        out += [
            f"### {dashboard.title} (`{dashboard.id}`)",
            "",
            "| panel | chart | data view | KQL | buckets | metric |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for p in dashboard.panels:
            buckets = ", ".join(("date histogram of " if b.date_histogram else f"top {b.size} of ") + f"`{b.field}`"
                                for b in p.buckets) or "-"  # fmt: skip
            operation, field = p.metric.operation
            metric = operation.replace("_", " ") + (f" of `{field}`" if field else "")
            out.append(f"| {p.title} | {p.chart} | `{p.data_view}` | `{p.filter.replace('|', chr(92) + '|')}` | "
                       f"{buckets} | {metric} |")  # fmt: skip
        out.append("")
    out += ["## Data views", "", "| id | pattern | name |", "| --- | --- | --- |"]
    out += [f"| `{v.id}` | `{v.title}` | {v.name} |" for v in source.data_views]
    out += [
        "",
        "## Saved searches (Discover)",
        "",
        "| title | data view | KQL | columns |",
        "| --- | --- | --- | --- |",
    ]
    for s in source.searches:
        columns = ", ".join(f"`{c}`" for c in s.columns)
        out.append(f"| {s.title} | `{s.data_view}` | `{s.query.replace('|', chr(92) + '|')}` | {columns} |")
    out += ["", "## Alert rules (disabled, no actions: connectors are yours)", "",
            "| name | type | index | KQL | fires when |", "| --- | --- | --- | --- | --- |"]  # fmt: skip
    for r in rules:
        per = f" per `{r.group_by}`" if r.group_by else ""
        out.append(f"| {r.name} | `.{r.type}` | `{r.index}` | `{r.filter.replace('|', chr(92) + '|')}` | "
                   f"more than {r.threshold} in {r.window}{per} |")  # fmt: skip
    return "\n".join(out) + "\n"
