"""Event serialisation: dotted field names → nested ECS documents → NDJSON bytes."""

from __future__ import annotations

from typing import Any

import orjson

_PATHS: dict[str, tuple[str, ...]] = {}


def _path(name: str) -> tuple[str, ...]:
    parts = _PATHS.get(name)
    if parts is None:
        parts = tuple(name.split(".")) if name != "@timestamp" else (name,)
        _PATHS[name] = parts
    return parts


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for name, value in flat.items():
        parts = _path(name)
        if len(parts) == 1:
            doc[name] = value
            continue
        node = doc
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    return doc


def flatten(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name != "log.syslog.structured_data":
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def to_ndjson(flat: dict[str, Any]) -> bytes:
    return orjson.dumps(nest(flat), option=orjson.OPT_APPEND_NEWLINE)
