"""Event serialisation: dotted field names → nested ECS documents → NDJSON bytes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Builder = Callable[[tuple[Any, ...]], dict[str, Any]]

# Events of one rule mostly carry the same fields in the same order, so nesting is compiled once per
# distinct key sequence into one nested dict display. A generic loop over dotted names cost more than
# all regex matching of a line together (measured with bench/parse_vs_pflogsumm.py).
_BUILDERS: dict[tuple[str, ...], Builder] = {}
_MAX_BUILDERS = 4096


def _place(doc: dict[str, Any], name: str, value: Any) -> None:
    """Put `value` at the dotted `name` inside `doc`, creating the objects on the way."""
    parts = name.split(".") if name != "@timestamp" else [name]
    node = doc
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def _tree(keys: tuple[str, ...]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for index, name in enumerate(keys):
        _place(tree, name, index)
    return tree


def _display(tree: dict[str, Any]) -> str:
    items = []
    for key, value in tree.items():
        rendered = _display(value) if isinstance(value, dict) else f"v[{value}]"
        items.append(f"{key!r}: {rendered}")
    return "{" + ", ".join(items) + "}"


def _compile(keys: tuple[str, ...]) -> Builder:
    for name in keys:
        parts = name.split(".")
        if any(name.startswith(f"{other}.") for other in keys if other != name) or "" in parts:
            return lambda values, keys=keys: _nest_slow(dict(zip(keys, values, strict=True)))  # type: ignore[misc]
    source = f"def build(v):\n    return {_display(_tree(keys))}\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, "<shipper.event>", "exec"), namespace)
    return namespace["build"]  # type: ignore[no-any-return]


def _nest_slow(flat: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for name, value in flat.items():
        _place(doc, name, value)
    return doc


_NO_OBJECT: dict[str, Any] = {}


def child(node: dict[str, Any], name: str) -> dict[str, Any]:
    """An event's object under `name`, or an empty one (shared: read it, never write to it) when it is
    missing or not an object: for code that reads a few fields of one object of every event."""
    value = node.get(name)
    return value if isinstance(value, dict) else _NO_OBJECT


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    keys = tuple(flat)
    builder = _BUILDERS.get(keys)
    if builder is None:
        if len(_BUILDERS) >= _MAX_BUILDERS:
            return _nest_slow(flat)
        builder = _BUILDERS[keys] = _compile(keys)
    return builder(tuple(flat.values()))


# objects that are one field's value (flattened, geo_point), not more fields
LEAF_OBJECTS = frozenset({"log.syslog.structured_data", "source.geo.location"})


def flatten(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in LEAF_OBJECTS:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
