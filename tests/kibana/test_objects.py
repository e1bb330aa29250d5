"""The saved objects as Kibana's import reads them, checked offline: generated and current, well-formed,
every reference resolved, every column and every field a query names defined, every query valid KQL.
(tests/integration/test_kql.py runs the queries on the cluster and over the samples.)"""

from __future__ import annotations

import orjson

from shipper.kibana.objects import format_problems, load_source, render
from shipper.kql.ast import And, Is, Nested, Node, Not, Or, Range
from shipper.kql.parser import parse
from shipper.kql.types import offline_types
from tests.conftest import ROOT

SOURCE = ROOT / "kibana_dashboards" / "src" / "searches.yml"
BUNDLED = ROOT / "kibana_dashboards" / "shipper-saved-objects.ndjson"


def fields_of(node: Node) -> set[str]:
    if isinstance(node, And | Or):
        return set().union(*(fields_of(c) for c in node.children))
    if isinstance(node, Not):
        return fields_of(node.child)
    if isinstance(node, Nested):
        return {f"{node.path}.{f}" for f in fields_of(node.query)}
    if isinstance(node, Is | Range):
        return {node.field} if node.field else set()
    return set()


def test_the_bundled_file_and_its_readme_are_generated_and_current():
    from shipper.kibana.dashboards import load_dashboards, render_dashboards
    from shipper.kibana.readme import render_readme
    from shipper.kibana.rules import load_rules

    dashboards = load_dashboards(SOURCE.with_name("dashboards.yml"))
    expected = render(load_source(SOURCE)) + render_dashboards(dashboards)
    assert BUNDLED.read_bytes() == expected, "stale: PYTHONPATH=. python3 scripts/regen_kibana.py"
    readme = render_readme(load_source(SOURCE), load_rules(SOURCE.with_name("rules.yml")), dashboards)
    assert (BUNDLED.parent / "README.md").read_text() == readme, "stale: PYTHONPATH=. python3 scripts/regen_kibana.py"


def test_the_objects_are_well_formed_for_kibanas_import():
    data = BUNDLED.read_bytes()
    assert format_problems(data) == []
    objects = [orjson.loads(line) for line in data.splitlines()]
    searches = [o for o in objects if o["type"] == "search"]
    assert len(searches) >= 9 and {o["type"] for o in objects} == {"index-pattern", "search", "dashboard"}
    for search in searches:
        source = orjson.loads(search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        assert source["query"]["language"] == "kuery" and source["indexRefName"] == search["references"][0]["name"]


def test_every_field_a_search_names_is_defined_and_every_query_parses():
    types = offline_types()
    for search in load_source(SOURCE).searches:
        named = fields_of(parse(search.query)) | set(search.columns)
        assert named <= set(types), (search.id, named - set(types))


def test_the_checks_catch_what_kibana_would_refuse():
    good = render(load_source(SOURCE)).splitlines()
    first, search = orjson.loads(good[0]), orjson.loads(good[-1])
    duplicate = orjson.dumps(first)
    search["references"] = [{"id": "nowhere", "name": "kibanaSavedObjectMeta.searchSourceJSON.index",
                             "type": "index-pattern"}]  # fmt: skip
    search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"] = {"query": {}}
    bad = b"\n".join([*good, duplicate, orjson.dumps(search), b"{not json"])
    problems = "\n".join(format_problems(bad))
    assert "already on line 1" in problems and "is not in the file" in problems
    assert "must be a JSON string" in problems and "not JSON" in problems


def test_every_dashboard_panel_is_a_lens_layer_lens_can_read():
    from shipper.kibana.dashboards import lens_problems

    objects = [orjson.loads(line) for line in BUNDLED.read_bytes().splitlines()]
    dashboards = [o for o in objects if o["type"] == "dashboard"]
    assert len(dashboards) == 6
    types = offline_types()
    for dashboard in dashboards:
        assert lens_problems(dashboard, types) == [], dashboard["id"]
        panels = orjson.loads(dashboard["attributes"]["panelsJSON"])
        charts = {p["embeddableConfig"]["attributes"]["visualizationType"] for p in panels}
        assert charts <= {"lnsXY", "lnsMetric", "lnsDatatable", "lnsPie"}
    bad = dict(dashboards[0])
    panels = orjson.loads(bad["attributes"]["panelsJSON"])
    state = panels[0]["embeddableConfig"]["attributes"]["state"]
    layer = next(iter(state["datasourceStates"]["formBased"]["layers"].values()))
    layer["columnOrder"] = layer["columnOrder"][:-1]
    next(iter(layer["columns"].values()))["sourceField"] = "message"
    state["query"]["query"] = "mail.status: sent"
    bad["attributes"] = {**bad["attributes"], "panelsJSON": orjson.dumps(panels).decode()}
    problems = "\n".join(lens_problems(bad, types))
    assert "columnOrder does not match" in problems and "message is not an aggregatable field" in problems
    assert "does not filter on its dataset(s)" in problems
