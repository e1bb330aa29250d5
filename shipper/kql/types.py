"""Field types for KQL: offline from the one field definition (fields.yml, transactions.yml, with their
multi-fields), or from a cluster's `_field_caps` (what Kibana's data view holds)."""

from __future__ import annotations

from functools import cache
from typing import Any

from shipper.schema.fields import load_fields
from shipper.schema.mappings import queue_fields, transaction_fields

# what a mapped type means to a query
_MAPPED = {"match_only_text": "text", "text": "text", "wildcard": "keyword", "constant_keyword": "keyword"}


@cache
def offline_types() -> dict[str, str]:
    out: dict[str, str] = {}
    for fields in (load_fields(), transaction_fields(), queue_fields()):
        for name, field in fields.items():
            out.setdefault(name, _MAPPED.get(field.type, field.type))
            for multi in field.multi_fields:
                out.setdefault(f"{name}.{multi.name}", multi.type)
    return out


@cache
def multi_field_parents() -> dict[str, str]:
    """`mail.response.text` → `mail.response`: a multi-field indexes its parent's value another way."""
    out: dict[str, str] = {}
    for fields in (load_fields(), transaction_fields(), queue_fields()):
        for name, field in fields.items():
            for multi in field.multi_fields:
                out[f"{name}.{multi.name}"] = name
    return out


def cluster_types(client: Any, index: str) -> dict[str, str]:
    caps = client.field_caps(index=index, fields="*", ignore_unavailable=True, allow_no_indices=True)
    out: dict[str, str] = {}
    for name, by_type in caps.get("fields", {}).items():
        kinds = [k for k in by_type if not k.startswith("_") and k != "object"]
        if kinds:
            out[name] = _MAPPED.get(kinds[0], kinds[0])
    return out
