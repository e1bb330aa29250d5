"""The output contract: every emitted event's fields exist in fields.yml and hold values of their type.

Checked with pydantic, per field, on flattened events. Used by the test suite on every golden and fuzzed
event, and available to callers that want to verify foreign NDJSON (`validate_event`).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from ipaddress import IPv4Address, IPv6Address
from typing import Annotated, Any

from pydantic import AfterValidator, StrictBool, StrictFloat, StrictInt, StrictStr, TypeAdapter, ValidationError

from shipper.core.event import flatten
from shipper.schema.fields import load_fields


def _utc_iso(value: str) -> str:
    if not value.endswith("Z"):
        raise ValueError("timestamps are ISO-8601 UTC ending in Z")
    datetime.fromisoformat(value[:-1] + "+00:00")
    return value


def _canonical_ip(value: str) -> str:
    for kind in (IPv4Address, IPv6Address):
        try:
            if str(kind(value)) == value:
                return value
        except ValueError:
            continue
    raise ValueError(f"not a canonical IP address: {value!r}")


_SCALARS: dict[str, Any] = {
    "keyword": StrictStr,
    "text": StrictStr,
    "wildcard": StrictStr,
    "constant_keyword": StrictStr,
    "long": StrictInt,
    "float": StrictFloat | StrictInt,
    "boolean": StrictBool,
    "ip": Annotated[StrictStr, AfterValidator(_canonical_ip)],
    "date": Annotated[StrictStr, AfterValidator(_utc_iso)],
    "flattened": dict[str, Any],
    "geo_point": dict[str, StrictFloat | StrictInt],
}


@cache
def _adapter(name: str) -> TypeAdapter[Any]:
    definition = load_fields()[name]
    scalar: Any = _SCALARS[definition.type]
    return TypeAdapter(list[scalar] if definition.array else scalar)


def contract_errors(event: dict[str, Any]) -> list[str]:
    """Problems with one nested event; empty when it honours the contract."""
    fields = load_fields()
    problems = []
    for name, value in flatten(event).items():
        if name not in fields:
            problems.append(f"{name}: not a defined field")
            continue
        try:
            _adapter(name).validate_python(value, strict=True)
        except ValidationError as exc:
            problems.append(f"{name}: {exc.errors()[0]['msg']} (got {value!r})")
    return problems
