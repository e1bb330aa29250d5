"""What ECS asks of every event beyond the fields a rule captured: `ecs.version`, and the `related.*` arrays
that Kibana's pivots (and a search for one address across every field set) rely on."""

from __future__ import annotations

from typing import Any

# The ECS release line fields.yml is checked against (tests/schema: ../shared/reference/ecs, ECS 9).
ECS_VERSION = "9.0.0"

_IPS = (("source", "ip"), ("destination", "ip"), ("mail", "amavis", "original_ip"))
_USERS = (("user", "name"), ("user", "target", "name"), ("user", "effective", "name"))
_HOSTS = (("host", "hostname"), ("source", "domain"), ("destination", "domain"))


def _value(doc: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = doc
    for part in path:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _collect(doc: dict[str, Any], paths: tuple[tuple[str, ...], ...]) -> list[str]:
    out: list[str] = []
    for path in paths:
        value = _value(doc, path)
        if isinstance(value, str) and value and value not in out and value != "unknown":
            out.append(value)
    return out


def complete(doc: dict[str, Any]) -> None:
    """Add ecs.version and related.ip/user/hosts (in place); an event's own `related` is kept."""
    doc["ecs"] = {"version": ECS_VERSION}
    related = {name: found for name, paths in (("ip", _IPS), ("user", _USERS), ("hosts", _HOSTS))
               if (found := _collect(doc, paths))}  # fmt: skip
    if related:
        doc.setdefault("related", {}).update(related)
