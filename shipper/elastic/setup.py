"""`shipper setup`: install or check the bundled ILM policy and templates on one cluster, idempotently."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from shipper.elastic.templates import KINDS, Adapted, LifecycleAges, adapt, content_hash, load_bundled, with_meta
from shipper.schema.mappings import Capabilities

State = Literal["created", "updated", "unchanged", "missing", "differs", "skipped"]


@dataclass
class SetupReport:
    results: list[tuple[str, str, State]] = field(default_factory=list)  # (kind path, name, state)
    notes: list[str] = field(default_factory=list)

    @property
    def drift(self) -> bool:
        return any(state in ("missing", "differs") for _, _, state in self.results)

    @property
    def changed(self) -> bool:
        return any(state in ("created", "updated") for _, _, state in self.results)


def detect_capabilities(client: Any) -> Capabilities:
    """Which optional modules every node has, and whether ILM answers."""
    from elasticsearch import ApiError, AuthorizationException

    modules: frozenset[str] | None
    try:
        nodes = client.nodes.info(metric="plugins", filter_path="nodes.*.modules.name").body.get("nodes", {})
        per_node = [frozenset(m["name"] for m in node.get("modules", [])) for node in nodes.values()]
        modules = frozenset.intersection(*per_node) if per_node else None
    except ApiError:  # managed services hide the nodes API: assume the full distribution
        modules = None
    if modules is not None:
        ilm = "x-pack-ilm" in modules
    else:
        try:
            client.ilm.get_status()
            ilm = True
        except AuthorizationException:
            ilm = True  # there, but not ours to read: putting the policy will say so clearly
        except ApiError:
            ilm = False
    return Capabilities(modules=modules, ilm=ilm)


def _installed(client: Any, kind: str, name: str) -> dict[str, Any] | None:
    from elasticsearch import NotFoundError

    try:
        if kind == "ilm":
            found = client.ilm.get_lifecycle(name=name).body[name]["policy"]
        elif kind == "component":
            found = client.cluster.get_component_template(name=name).body["component_templates"][0][
                "component_template"
            ]
        else:
            found = client.indices.get_index_template(name=name).body["index_templates"][0]["index_template"]
    except NotFoundError:
        return None
    return dict(found)


def _put(client: Any, kind: str, name: str, body: dict[str, Any]) -> None:
    client.perform_request(
        "PUT", f"/{KINDS[kind]}/{name}", headers={"content-type": "application/json", "accept": "application/json"},
        body=body,
    )  # fmt: skip


def plan(caps: Capabilities, ages: LifecycleAges) -> Adapted:
    return adapt(load_bundled(), caps, ages)


def run_setup(client: Any, ages: LifecycleAges, check_only: bool = False) -> SetupReport:
    """Install what differs from the bundled objects (or with check_only, only report it).

    Drift is judged by the content hash shipper stamps into each object's _meta: an object without it,
    or with another hash, differs. Objects are put in dependency order (policy, components, index templates).
    """
    caps = detect_capabilities(client)
    adapted = plan(caps, ages)
    report = SetupReport(notes=list(adapted.notes))
    if not caps.ilm:
        report.results.append(("ilm", "logs-mail", "skipped"))
    for (kind, name), body in adapted.objects.items():
        current = _installed(client, kind, name)
        meta = (current or {}).get("_meta") or {}
        if current is not None and meta.get("content_hash") == content_hash(body):
            report.results.append((kind, name, "unchanged"))
            continue
        if check_only:
            report.results.append((kind, name, "missing" if current is None else "differs"))
            continue
        _put(client, kind, name, with_meta(kind, body))
        report.results.append((kind, name, "created" if current is None else "updated"))
    return report
