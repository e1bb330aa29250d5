"""Elasticsearch mappings from the field definitions, and their adaptation to what a cluster offers.

The bundled templates (index_templates/) are rendered from fields.yml and transactions.yml by
`render_templates`; a test keeps the committed files equal to a fresh rendering. `adapt_mappings`
rewrites field types a cluster cannot map (the integ-test distribution has no mapper-extras, wildcard
or constant-keyword modules) to the nearest type it has.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from shipper.schema.fields import FieldDef, load_fields
from shipper.yamlload import load_yaml

TRANSACTIONS_FILE = Path(__file__).with_name("transactions.yml")
QUEUE_FILE = Path(__file__).with_name("queue.yml")
KEYWORD_IGNORE_ABOVE = 1024  # as ECS: longer values stay in _source but are not indexed

# A type some clusters lack, the module that provides it, and what to map instead.
OPTIONAL_TYPES: dict[str, tuple[str, dict[str, Any]]] = {
    "match_only_text": ("mapper-extras", {"type": "text"}),
    "wildcard": ("wildcard", {"type": "keyword", "ignore_above": KEYWORD_IGNORE_ABOVE}),
    "constant_keyword": ("constant-keyword", {"type": "keyword", "ignore_above": KEYWORD_IGNORE_ABOVE}),
}


def _type_mapping(kind: str, indexed: bool = True) -> dict[str, Any]:
    if kind == "text":
        return {"type": "match_only_text"}
    if kind == "keyword" and indexed:
        return {"type": "keyword", "ignore_above": KEYWORD_IGNORE_ABOVE}
    return {"type": kind}


def field_mapping(field: FieldDef) -> dict[str, Any]:
    mapping = _type_mapping(field.type, bool(field.mapping.get("index", True)))
    mapping.update(field.mapping)
    if field.multi_fields:
        mapping["fields"] = {m.name: _type_mapping(m.type) for m in field.multi_fields}
    return mapping


def properties(fields: dict[str, FieldDef]) -> dict[str, Any]:
    """Nested `properties` for dotted field names, objects in between."""
    root: dict[str, Any] = {}
    for name in sorted(fields):
        *parents, leaf = name.split(".")
        node = root
        for part in parents:
            node = node.setdefault(part, {"properties": {}})
            if "properties" not in node:
                raise ValueError(f"field {name}: {part} is both a field and an object")
            node = node["properties"]
        if leaf in node:
            raise ValueError(f"field {name}: defined twice or both a field and an object")
        node[leaf] = field_mapping(fields[name])
    return root


class DocumentFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shared: list[str]
    fields: dict[str, dict[str, Any]]


def document_fields(path: Path) -> dict[str, FieldDef]:
    """Fields of a document kind other than line events (transactions, queue snapshots): some shared with
    line events, the rest its own."""
    raw = DocumentFields.model_validate(load_yaml(path.read_text(encoding="utf-8")))
    line_fields = load_fields()
    missing = [name for name in raw.shared if name not in line_fields]
    if missing:
        raise ValueError(f"{path}: shared: not in fields.yml: {', '.join(missing)}")
    fields = {name: line_fields[name] for name in raw.shared}
    for name, spec in raw.fields.items():
        if name in fields:
            raise ValueError(f"{path}: fields: {name} is already shared from fields.yml")
        fields[name] = FieldDef(name=name, **spec)
    return fields


def transaction_fields() -> dict[str, FieldDef]:
    return document_fields(TRANSACTIONS_FILE)


def queue_fields() -> dict[str, FieldDef]:
    return document_fields(QUEUE_FILE)


@dataclass(frozen=True)
class Capabilities:
    """What a cluster offers that the templates use."""

    modules: frozenset[str] | None  # None: unknown (e.g. a managed service without the nodes API): assume all
    ilm: bool

    def lacks(self, mapping_type: str) -> str | None:
        """The missing module's name when this cluster cannot map `mapping_type`."""
        optional = OPTIONAL_TYPES.get(mapping_type)
        if optional is None or self.modules is None or optional[0] in self.modules:
            return None
        return optional[0]


FULL = Capabilities(modules=None, ilm=True)


def adapt_mappings(mappings: dict[str, Any], caps: Capabilities) -> tuple[dict[str, Any], dict[str, str]]:
    """A copy with unsupported field types replaced; also {type: module} for each replacement made."""
    adapted = copy.deepcopy(mappings)
    replaced: dict[str, str] = {}

    def walk(props: dict[str, Any]) -> None:
        for name, spec in props.items():
            if "properties" in spec:
                walk(spec["properties"])
                continue
            if "fields" in spec:
                walk(spec["fields"])
            kind = spec.get("type", "object")
            module = caps.lacks(kind)
            if module:
                replaced[kind] = module
                extra = {k: v for k, v in spec.items() if k in ("index", "doc_values", "fields")}
                props[name] = {**OPTIONAL_TYPES[kind][1], **extra}

    walk(adapted.get("properties", {}))
    return adapted, replaced
