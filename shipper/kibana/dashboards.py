"""Dashboards from kibana_dashboards/src/dashboards.yml as Kibana `dashboard` saved objects whose panels are
by-value Lens visualizations (`lnsXY`, `lnsMetric`, `lnsDatatable`, `lnsPie`, form-based datasource):
`panelsJSON` and `optionsJSON` stored as JSON strings, as Kibana stores them, each layer's data view in the
dashboard's references (`<panel>:indexpattern-datasource-layer-<layer>`). And the aggregation Kibana sends
for a panel (`panel_request`), which the tests run on the cluster. Never imported into a live Kibana."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import Field, model_validator

from shipper.kibana.objects import CORE_MIGRATION_VERSION, _Strict
from shipper.kql.dsl import to_dsl
from shipper.kql.parser import parse
from shipper.yamlload import load_yaml

DASHBOARD_MIGRATION_VERSION = "8.7.0"  # the last dashboard migration before the 8.8 export format
AGGREGATABLE = {"keyword", "long", "float", "ip", "date", "boolean", "constant_keyword", "wildcard"}
METRIC_OPERATIONS = {"count": "count", "average": "average", "sum": "sum", "max": "max", "min": "min",
                     "unique_count": "unique_count", "percentile": "percentile"}  # fmt: skip
CHART = {"xy": "lnsXY", "metric": "lnsMetric", "table": "lnsDatatable", "pie": "lnsPie"}


class Bucket(_Strict):
    date_histogram: str | None = None
    terms: str | None = None
    size: int = Field(default=10, ge=1, le=100)

    @model_validator(mode="after")
    def _one(self) -> Bucket:
        if (self.date_histogram is None) == (self.terms is None):
            raise ValueError("a bucket is a date_histogram or terms, one of them")
        return self

    @property
    def field(self) -> str:
        return self.date_histogram or self.terms or ""


class Metric(_Strict):
    count: bool = False
    average: str | None = None
    sum: str | None = None
    max: str | None = None
    min: str | None = None
    unique_count: str | None = None
    percentile: str | None = None
    percent: float = 95

    @property
    def operation(self) -> tuple[str, str | None]:
        for name in ("average", "sum", "max", "min", "unique_count", "percentile"):
            if getattr(self, name) is not None:
                return name, getattr(self, name)
        return "count", None


class Panel(_Strict):
    title: str
    chart: Literal["xy", "metric", "table", "pie"]
    data_view: str
    filter: str
    buckets: list[Bucket]
    metric: Metric


class Dashboard(_Strict):
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    title: str
    datasets: list[str] | Literal["all"]
    panels: list[Panel]

    def dataset_list(self) -> list[str]:
        if self.datasets != "all":
            return list(self.datasets)
        from shipper.parse.packs import load_packs

        return sorted({p.dataset for p in load_packs()} | {"mail.other", "mail.deadletter"})

    def query(self, panel: Panel) -> str:
        """The panel's KQL restricted to the dashboard's datasets."""
        restriction = "event.dataset: (" + " or ".join(self.dataset_list()) + ")"
        return f"{restriction} and ({panel.filter})" if panel.filter.strip() else restriction


def load_dashboards(path: Path) -> list[Dashboard]:
    return [Dashboard.model_validate(d) for d in load_yaml(path.read_text(encoding="utf-8"))["dashboards"]]


def _bucket_column(bucket: Bucket, metric_id: str) -> dict[str, Any]:
    if bucket.date_histogram:
        return {"label": "@timestamp", "dataType": "date", "operationType": "date_histogram",
                "sourceField": bucket.date_histogram, "isBucketed": True, "scale": "interval",
                "params": {"interval": "auto", "includeEmptyRows": True, "dropPartials": False}}  # fmt: skip
    return {"label": f"Top {bucket.size} values of {bucket.terms}", "dataType": "string", "operationType": "terms",
            "sourceField": bucket.terms, "isBucketed": True, "scale": "ordinal",
            "params": {"size": bucket.size, "orderBy": {"type": "column", "columnId": metric_id},
                       "orderDirection": "desc", "otherBucket": True, "missingBucket": False}}  # fmt: skip


def _metric_column(metric: Metric) -> dict[str, Any]:
    operation, field = metric.operation
    if operation == "count":
        return {
            "label": "Count of records",
            "dataType": "number",
            "operationType": "count",
            "sourceField": "___records___",
            "isBucketed": False,
            "scale": "ratio",
            "params": {"emptyAsNull": True},
        }
    column: dict[str, Any] = {"label": f"{operation.replace('_', ' ').capitalize()} of {field}", "dataType": "number",
              "operationType": METRIC_OPERATIONS[operation], "sourceField": field, "isBucketed": False,
              "scale": "ratio", "params": {"emptyAsNull": True}}  # fmt: skip
    if operation == "percentile":
        column["params"] = {"percentile": metric.percent}
        column["label"] = f"{metric.percent:g}th percentile of {field}"
    return column


def lens_attributes(panel: Panel, panel_id: str, query: str) -> dict[str, Any]:
    layer = f"{panel_id}-layer"
    metric_id = f"{panel_id}-metric"
    bucket_ids = [f"{panel_id}-bucket{i}" for i in range(len(panel.buckets))]
    columns = {b: _bucket_column(bucket, metric_id) for b, bucket in zip(bucket_ids, panel.buckets, strict=True)}
    columns[metric_id] = _metric_column(panel.metric)
    visualization: dict[str, Any]
    if panel.chart == "xy":
        visualization = {"legend": {"isVisible": True, "position": "right"}, "preferredSeriesType": "bar_stacked",
                         "valueLabels": "hide", "layers": [{
                             "layerId": layer, "layerType": "data", "seriesType": "bar_stacked", "position": "top",
                             "showGridlines": False, "accessors": [metric_id],
                             **({"xAccessor": bucket_ids[0]} if bucket_ids else {}),
                             **({"splitAccessor": bucket_ids[1]} if len(bucket_ids) > 1 else {})}]}  # fmt: skip
    elif panel.chart == "metric":
        visualization = {"layerId": layer, "layerType": "data", "metricAccessor": metric_id}
    elif panel.chart == "table":
        visualization = {"layerId": layer, "layerType": "data",
                         "columns": [{"columnId": c} for c in [*bucket_ids, metric_id]]}  # fmt: skip
    else:
        visualization = {"shape": "pie", "layers": [{
            "layerId": layer, "layerType": "data", "primaryGroups": bucket_ids, "metrics": [metric_id],
            "numberDisplay": "percent", "categoryDisplay": "default", "legendDisplay": "default"}]}  # fmt: skip
    return {
        "title": panel.title, "visualizationType": CHART[panel.chart], "type": "lens",
        "references": [{"type": "index-pattern", "id": panel.data_view,
                        "name": f"indexpattern-datasource-layer-{layer}"}],
        "state": {
            "visualization": visualization, "query": {"query": query, "language": "kuery"}, "filters": [],
            "datasourceStates": {"formBased": {"layers": {layer: {
                "columns": columns, "columnOrder": [*bucket_ids, metric_id], "incompleteColumns": {}}}}},
        },
    }  # fmt: skip


def dashboard_object(dashboard: Dashboard) -> dict[str, Any]:
    panels, references = [], []
    for i, panel in enumerate(dashboard.panels):
        panel_id = f"p{i + 1}"
        attributes = lens_attributes(panel, panel_id, dashboard.query(panel))
        panels.append({"type": "lens", "panelIndex": panel_id, "title": panel.title,
                       "gridData": {"x": (i % 2) * 24, "y": (i // 2) * 15, "w": 24, "h": 15, "i": panel_id},
                       "embeddableConfig": {"attributes": attributes, "enhancements": {}}})  # fmt: skip
        references += [{**ref, "name": f"{panel_id}:{ref['name']}"} for ref in attributes["references"]]
    search_source = {"query": {"query": "", "language": "kuery"}, "filter": []}
    return {
        "attributes": {"title": dashboard.title, "description": "", "timeRestore": False,
                       "panelsJSON": orjson.dumps(panels).decode(),
                       "optionsJSON": orjson.dumps({"useMargins": True, "syncColors": False, "syncCursor": True,
                                                    "syncTooltips": False, "hidePanelTitles": False}).decode(),
                       "kibanaSavedObjectMeta": {"searchSourceJSON": orjson.dumps(search_source).decode()}},
        "coreMigrationVersion": CORE_MIGRATION_VERSION, "id": dashboard.id, "managed": False,
        "references": references, "type": "dashboard", "typeMigrationVersion": DASHBOARD_MIGRATION_VERSION,
    }  # fmt: skip


def panel_request(panel: Panel, types: dict[str, str], query: str) -> dict[str, Any]:
    """The search Kibana's form-based datasource sends for a panel: its KQL as a filter, one nested
    aggregation per bucket column (a date histogram at a fixed interval, top values ordered by the metric),
    the metric innermost."""
    operation, field = panel.metric.operation
    metrics: dict[str, dict[str, Any]] = {
        "average": {"avg": {"field": field}}, "sum": {"sum": {"field": field}}, "max": {"max": {"field": field}},
        "min": {"min": {"field": field}}, "unique_count": {"cardinality": {"field": field}},
        "percentile": {"percentiles": {"field": field, "percents": [panel.metric.percent]}},
    }  # fmt: skip
    metric = metrics.get(operation)
    inner: dict[str, Any] = {"metric": metric} if metric else {}
    for bucket in reversed(panel.buckets):
        if bucket.date_histogram:
            agg: dict[str, Any] = {"date_histogram": {"field": bucket.date_histogram, "fixed_interval": "1h",
                                                      "min_doc_count": 0}}  # fmt: skip
        else:
            order = {"metric": "desc"} if metric and operation not in ("percentile",) else {"_count": "desc"}
            agg = {"terms": {"field": bucket.terms, "size": bucket.size, "order": order}}
        if inner:
            agg["aggs"] = inner
        inner = {"bucket": agg}
    return {"query": to_dsl(parse(query), types), "aggs": inner, "size": 0}


def render_dashboards(dashboards: list[Dashboard]) -> bytes:
    return b"".join(orjson.dumps(dashboard_object(d), option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)
                    for d in dashboards)  # fmt: skip


def lens_problems(obj: dict[str, Any], types: dict[str, str]) -> list[str]:
    """A dashboard's Lens panels as Lens reads them: each layer's columnOrder holds exactly its columns, the
    visualization's accessors name existing columns, each layer's data view is referenced by the dashboard,
    every source field is defined and aggregatable, every panel query is valid KQL."""
    problems: list[str] = []
    refs = {r["name"] for r in obj["references"]}
    for panel in orjson.loads(obj["attributes"]["panelsJSON"]):
        where = f"{obj['id']} {panel['panelIndex']}"
        state = panel["embeddableConfig"]["attributes"]["state"]
        try:
            parse(state["query"]["query"])
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
        if not state["query"]["query"].startswith("event.dataset: ("):
            problems.append(f"{where}: the panel does not filter on its dataset(s)")
        for layer_id, layer in state["datasourceStates"]["formBased"]["layers"].items():
            if sorted(layer["columnOrder"]) != sorted(layer["columns"]):
                problems.append(f"{where}: columnOrder does not match the columns")
            if f"{panel['panelIndex']}:indexpattern-datasource-layer-{layer_id}" not in refs:
                problems.append(f"{where}: layer {layer_id} has no data view reference")
            for column in layer["columns"].values():
                field = column["sourceField"]
                if field != "___records___" and types.get(field) not in AGGREGATABLE:
                    problems.append(f"{where}: {field} is not an aggregatable field ({types.get(field)})")
            accessors = _accessors(state["visualization"])
            missing = accessors - set(layer["columns"])
            if missing:
                problems.append(f"{where}: the visualization names columns that do not exist: {sorted(missing)}")
    return problems


def _accessors(visualization: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    layers = visualization.get("layers") or [visualization]
    for layer in layers:
        for key in ("accessors", "primaryGroups", "metrics"):
            found.update(layer.get(key) or [])
        for key in ("xAccessor", "splitAccessor", "metricAccessor"):
            if layer.get(key):
                found.add(layer[key])
        found.update(c["columnId"] for c in layer.get("columns") or [])
    return found
