"""Load `fields.yml`, coerce captured strings to their field's type, render the field reference."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from shipper.yamlload import load_yaml

FIELDS_FILE = Path(__file__).with_name("fields.yml")

FieldType = Literal[
    "keyword",
    "text",
    "wildcard",
    "constant_keyword",
    "long",
    "float",
    "ip",
    "date",
    "boolean",
    "flattened",
    "geo_point",
]


# A field's converter from captured text to its type; None where the text is kept as it is.
Convert = Callable[[Any], Any] | None


class FieldTypeError(ValueError):
    """A captured value does not fit its field's type."""


class MultiField(BaseModel):
    """The same value indexed another way, as ECS's `multi_fields`: a keyword's `.text` for word search."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: Literal["text", "keyword"]


class FieldDef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: FieldType
    description: str
    ecs: bool = False
    array: bool = False
    mapping: dict[str, bool | int | str] = {}  # extra Elasticsearch mapping parameters
    multi_fields: tuple[MultiField, ...] = ()


def _to_long(value: str | int) -> int:
    if isinstance(value, bool):
        raise FieldTypeError(f"not an integer: {value!r}")
    try:
        return int(value)
    except ValueError:
        raise FieldTypeError(f"not an integer: {value!r}") from None


def _to_float(value: str | float) -> float:
    if isinstance(value, bool):
        raise FieldTypeError(f"not a number: {value!r}")
    try:
        return float(value)
    except ValueError:
        raise FieldTypeError(f"not a number: {value!r}") from None


IPV4 = re.compile(r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}")
_IP_CACHE: dict[str, str] = {}


def _to_ip(value: str) -> str:
    """Validate and normalise (IPv6 compressed, zone and `IPv6:` prefix dropped, an IPv4-mapped IPv6 address
    `::ffff:192.0.2.1` as its IPv4 address, as Elasticsearch stores it); canonical IPv4 as is."""
    if not isinstance(value, str):
        raise FieldTypeError(f"not an IP address: {value!r}")
    if IPV4.fullmatch(value):
        return value
    cached = _IP_CACHE.get(value)
    if cached is not None:
        return cached
    try:
        address = ipaddress.ip_address(value.removeprefix("IPv6:").split("%", 1)[0])
    except ValueError:
        raise FieldTypeError(f"not an IP address: {value!r}") from None
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    normal = str(mapped or address)
    if len(_IP_CACHE) > 65536:
        _IP_CACHE.clear()
    _IP_CACHE[value] = normal
    return normal


def _to_bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    lowered = value.lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise FieldTypeError(f"not a boolean: {value!r}")


def _identity(value: Any) -> Any:
    return value


_COERCERS: dict[str, Callable[[Any], Any]] = {
    "keyword": _identity,
    "text": _identity,
    "wildcard": _identity,
    "constant_keyword": _identity,
    "date": _identity,
    "flattened": _identity,
    "geo_point": _identity,
    "long": _to_long,
    "float": _to_float,
    "ip": _to_ip,
    "boolean": _to_bool,
}


@cache
def load_fields(path: Path = FIELDS_FILE) -> dict[str, FieldDef]:
    raw = load_yaml(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping of field name to definition")
    fields: dict[str, FieldDef] = {}
    for name, spec in raw.items():
        try:
            fields[name] = FieldDef(name=name, **spec)
        except (ValidationError, TypeError) as exc:
            raise ValueError(f"{path}: field {name!r}: {exc}") from None
    return fields


@cache
def coercer(name: str) -> Callable[[Any], Any]:
    """The converter for a field; unknown names raise KeyError so packs cannot invent fields."""
    definition = load_fields()[name]
    convert = _COERCERS[definition.type]
    if not definition.array:
        return convert

    def to_list(value: Any) -> list[Any]:
        if isinstance(value, list):
            return [convert(v) for v in value]
        return [convert(value)]

    return to_list


def coerce(name: str, value: Any) -> Any:
    return coercer(name)(value)


def render_markdown(
    fields: dict[str, FieldDef] | None = None,
    transactions: dict[str, FieldDef] | None = None,
    queue: dict[str, FieldDef] | None = None,
) -> str:
    fields = fields if fields is not None else load_fields()
    lines = [
        "# Field reference",
        "",
        "Generated from `shipper/schema/fields.yml`, `transactions.yml` and `queue.yml` by"
        " `shipper fields --format markdown`;"
        " do not edit by hand.",
        "",
        "ECS fields keep their ECS names and types; the rest live under `mail.*`.",
        "",
        "## Log events (`logs-mail.<source>-<namespace>`)",
        "",
        *_table(fields),
    ]
    if transactions:
        lines += _document_section(
            "Message transactions (`mail-transactions-*`)",
            "One document per message. Besides the fields below it carries these, as defined above (queue IDs"
            " and recipients as arrays)",
            transactions, fields,
        )  # fmt: skip
    if queue:
        lines += _document_section(
            "Queue snapshots (`metrics-mail.queue-<namespace>`)",
            "One document per queued message and one summary per host and snapshot. Besides the fields below"
            " they carry these, as defined above",
            queue, fields,
        )  # fmt: skip
    return "\n".join(lines) + "\n"


def _document_section(title: str, intro: str, own: dict[str, FieldDef], fields: dict[str, FieldDef]) -> list[str]:
    """A document kind's section: the line-event fields it shares, then a table of its own."""
    shared = ", ".join(f"`{n}`" for n in own if n in fields)
    mine = {n: f for n, f in own.items() if n not in fields}
    return ["", f"## {title}", "", f"{intro}: {shared}.", "", *_table(mine)]


def _table(fields: dict[str, FieldDef]) -> list[str]:
    lines = ["| Field | Type | ECS | Description |", "| --- | --- | --- | --- |"]
    for name in sorted(fields, key=lambda n: (not fields[n].ecs, n)):
        f = fields[name]
        kind = f"{f.type}[]" if f.array else f.type
        kind += "".join(f" (+ `.{m.name}`: {m.type})" for m in f.multi_fields)
        desc = f.description.replace("|", "\\|")
        lines.append(f"| `{name}` | {kind} | {'yes' if f.ecs else ''} | {desc} |")
    return lines
