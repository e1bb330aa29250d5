"""The alert rules as Kibana's alerting API takes them, checked offline (the live checks run their
queries on the cluster: tests/integration/test_kql.py)."""

from __future__ import annotations

import orjson

from shipper.kibana.rules import load_rules, rule_body
from shipper.kql.parser import parse
from shipper.kql.types import offline_types
from tests.conftest import ROOT
from tests.kibana.test_objects import fields_of

RULES = ROOT / "kibana_dashboards" / "src" / "rules.yml"


def test_every_rule_is_a_valid_disabled_rule_without_actions():
    rules = load_rules(RULES)
    assert len(rules) >= 7 and len({r.id for r in rules}) == len(rules)
    types = offline_types()
    for rule in rules:
        body = rule_body(rule)
        assert body["enabled"] is False and body["actions"] == [] and body["consumer"] == "stackAlerts"
        params = body["params"]
        assert params["timeField"] == "@timestamp" and params["thresholdComparator"] == ">"
        assert fields_of(parse(rule.filter)) | ({rule.group_by} if rule.group_by else set()) <= set(types), rule.id
        if body["rule_type_id"] == ".es-query":
            assert params["searchType"] == "esQuery" and "query" in orjson.loads(params["esQuery"])
        else:
            assert body["rule_type_id"] == ".index-threshold" and params["filterKuery"] == rule.filter
            assert (params["groupBy"] == "top") == bool(rule.group_by)
