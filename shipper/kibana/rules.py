"""Alert rules from kibana_dashboards/src/rules.yml as the bodies of Kibana's alerting API
(`POST /api/alerting/rule/<id>`): `.index-threshold` rules keep their KQL filter (`filterKuery`, which
Kibana evaluates), `.es-query` rules carry the query DSL (`searchType: esQuery`) translated from the KQL
as Kibana translates it. Disabled, no actions. Never installed into a live Kibana here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from shipper.kql.dsl import to_dsl
from shipper.kql.parser import parse
from shipper.kql.types import offline_types
from shipper.yamlload import load_yaml


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9-]+$")
    name: str
    type: Literal["index-threshold", "es-query"]
    index: str
    filter: str  # KQL
    group_by: str | None = None  # a count per value of this field (index-threshold, top 10)
    threshold: int = Field(ge=0)  # fires when the count is above it
    window: str = Field(pattern=r"^\d+[smhd]$")


def load_rules(path: Path) -> list[Rule]:
    raw = load_yaml(path.read_text(encoding="utf-8"))
    return [Rule.model_validate(item) for item in raw["rules"]]


def _window(text: str) -> tuple[int, str]:
    m = re.fullmatch(r"(\d+)([smhd])", text)
    assert m is not None
    return int(m[1]), m[2]


def rule_body(rule: Rule) -> dict[str, Any]:
    size, unit = _window(rule.window)
    common = {"name": rule.name, "consumer": "stackAlerts", "enabled": False, "tags": ["shipper", "mail"],
              "schedule": {"interval": "1m"}, "actions": []}  # fmt: skip
    if rule.type == "index-threshold":
        params: dict[str, Any] = {
            "index": [rule.index], "timeField": "@timestamp", "aggType": "count",
            "groupBy": "top" if rule.group_by else "all", "timeWindowSize": size, "timeWindowUnit": unit,
            "thresholdComparator": ">", "threshold": [rule.threshold], "filterKuery": rule.filter,
        }  # fmt: skip
        if rule.group_by:
            params |= {"termField": rule.group_by, "termSize": 10}
        return {**common, "rule_type_id": ".index-threshold", "params": params}
    query = to_dsl(parse(rule.filter), offline_types())
    params = {
        "searchType": "esQuery", "index": [rule.index], "timeField": "@timestamp",
        "esQuery": orjson.dumps({"query": query}).decode(), "size": 100, "threshold": [rule.threshold],
        "thresholdComparator": ">", "timeWindowSize": size, "timeWindowUnit": unit,
    }  # fmt: skip
    return {**common, "rule_type_id": ".es-query", "params": params}
