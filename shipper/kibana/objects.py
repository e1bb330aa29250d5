"""Render kibana_dashboards/src/*.yml into saved objects in Kibana's export format: one JSON object per
line, `attributes` with the JSON-in-a-string fields Kibana stores (`kibanaSavedObjectMeta.searchSourceJSON`),
`references` naming the data view each search reads, stable ids, and the migration versions of the oldest
format written (coreMigrationVersion 8.8.0, the first export format with typeMigrationVersion; 8.0.0 for
both types, so Kibana 8.8+ and 9.x migrate them up on import). Never imported into a live Kibana here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from shipper.yamlload import load_yaml

CORE_MIGRATION_VERSION = "8.8.0"
TYPE_MIGRATION_VERSION = {"index-pattern": "8.0.0", "search": "8.0.0"}
INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataView(_Strict):
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    title: str  # the index pattern
    name: str


class SavedSearch(_Strict):
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    title: str
    data_view: str
    query: str
    columns: list[str]


class Source(_Strict):
    data_views: list[DataView]
    searches: list[SavedSearch]


def load_source(path: Path) -> Source:
    return Source.model_validate(load_yaml(path.read_text(encoding="utf-8")))


def _json_string(value: Any) -> str:
    return orjson.dumps(value).decode()


def data_view_object(view: DataView) -> dict[str, Any]:
    return {
        "attributes": {"title": view.title, "name": view.name, "timeFieldName": "@timestamp",
                       "allowNoIndex": True, "fieldAttrs": "{}", "fieldFormatMap": "{}", "runtimeFieldMap": "{}",
                       "sourceFilters": "[]"},
        "coreMigrationVersion": CORE_MIGRATION_VERSION, "id": view.id, "managed": False, "references": [],
        "type": "index-pattern", "typeMigrationVersion": TYPE_MIGRATION_VERSION["index-pattern"],
    }  # fmt: skip


def search_object(search: SavedSearch) -> dict[str, Any]:
    source = {"query": {"query": search.query, "language": "kuery"}, "filter": [], "indexRefName": INDEX_REF}
    return {
        "attributes": {"title": search.title, "description": "", "columns": list(search.columns),
                       "sort": [["@timestamp", "desc"]], "hideChart": False, "isTextBasedQuery": False,
                       "kibanaSavedObjectMeta": {"searchSourceJSON": _json_string(source)}},
        "coreMigrationVersion": CORE_MIGRATION_VERSION, "id": search.id, "managed": False,
        "references": [{"id": search.data_view, "name": INDEX_REF, "type": "index-pattern"}],
        "type": "search", "typeMigrationVersion": TYPE_MIGRATION_VERSION["search"],
    }  # fmt: skip


def render(source: Source) -> bytes:
    objects = [data_view_object(v) for v in source.data_views] + [search_object(s) for s in source.searches]
    return b"".join(orjson.dumps(o, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE) for o in objects)


def format_problems(ndjson: bytes) -> list[str]:
    """What Kibana's import would refuse or misread: a line that is no JSON object, a missing id, type or
    attributes, a duplicate id, a JSON-string field that does not parse, a reference to an object that is
    not in the file, a migration version above the pin."""
    problems: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    objects = []
    for number, line in enumerate(ndjson.splitlines(), 1):
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            problems.append(f"line {number}: not JSON ({exc})")
            continue
        if not isinstance(obj, dict) or not all(k in obj for k in ("id", "type", "attributes", "references")):
            problems.append(f"line {number}: a saved object needs id, type, attributes and references")
            continue
        key = (obj["type"], obj["id"])
        if key in seen:
            problems.append(f"line {number}: {key} already on line {seen[key]}")
        seen[key] = number
        objects.append((number, obj))
    for number, obj in objects:
        for key, value in obj["attributes"].items():
            if key.endswith("JSON") and not (isinstance(value, str) and _parses(value)):
                problems.append(f"line {number}: {key} must be a JSON string that parses, as Kibana stores it")
        if obj.get("coreMigrationVersion") != CORE_MIGRATION_VERSION:
            problems.append(f"line {number}: coreMigrationVersion {obj.get('coreMigrationVersion')!r}")
        version = str(obj.get("typeMigrationVersion") or "")
        if not re.fullmatch(r"\d+\.\d+\.\d+", version) or _version(version) > _version("8.8.0"):
            problems.append(f"line {number}: typeMigrationVersion {version!r}: missing or above the 8.8 format pinned")
        meta = obj["attributes"].get("kibanaSavedObjectMeta", {})
        if "searchSourceJSON" in meta:
            if not isinstance(meta["searchSourceJSON"], str):
                problems.append(f"line {number}: searchSourceJSON must be a JSON string, as Kibana stores it")
            else:
                try:
                    source = orjson.loads(meta["searchSourceJSON"])
                except orjson.JSONDecodeError:
                    problems.append(f"line {number}: searchSourceJSON does not parse")
                    source = {}
                names = {r["name"] for r in obj["references"]}
                if source.get("indexRefName") and source["indexRefName"] not in names:
                    problems.append(f"line {number}: indexRefName {source['indexRefName']} has no reference")
        for ref in obj["references"]:
            if (ref.get("type"), ref.get("id")) not in seen:
                problems.append(f"line {number}: reference {ref.get('type')}:{ref.get('id')} is not in the file")
    return problems


def _parses(text: str) -> bool:
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))
