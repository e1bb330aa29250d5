"""The bundled Elasticsearch objects: render them from the field definitions, load and adapt them.

`render()` builds every object from fields.yml / transactions.yml; `scripts/regen_templates` writes them to
index_templates/ and a test keeps those files equal to a fresh rendering, so the JSON a user reads is the
JSON `shipper setup` installs. `load_bundled()` reads them back (from the checkout or the wheel) and
`adapt()` fits them to one cluster: fallback field types, no lifecycle where there is no ILM, the
configured ILM ages.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from shipper import __version__
from shipper.resources import data_dir
from shipper.schema.fields import load_fields
from shipper.schema.mappings import Capabilities, adapt_mappings, properties, queue_fields, transaction_fields

LOGS_POLICY = "logs-mail"
DATA_STREAM_PATTERN = "logs-mail.*-*"
TRANSACTIONS_PATTERN = "mail-transactions-*"
QUEUE_PATTERN = "metrics-mail.queue-*"
PRIORITY = 200  # above the stack's built-in logs-*-* (100), so our mappings win for logs-mail.*
DEFAULT_ROLLOVER_AGE = "7d"
DEFAULT_ROLLOVER_SIZE = "50gb"
DEFAULT_DELETE_AFTER = "180d"

# kind: the API path prefix each object is installed under
KINDS = {"ilm": "_ilm/policy", "component": "_component_template", "index": "_index_template"}


def _meta(description: str) -> dict[str, Any]:
    return {"managed_by": "shipper", "description": description}


# Text (message, reasons' .text) is indexed with its words' parts as well as the words: the standard tokenizer
# keeps `zen.spamhaus.org`, `192.0.2.1` or `mail.example.org` whole, so a search for `spamhaus` or `example`
# found nothing. word_delimiter_graph adds the parts and keeps the original (a search for the whole name
# still matches); searches are analyzed plainly (`default_search`), so the parts are not spread into
# queries. match_only_text cannot name an analyzer: it takes the index's `default`.
# Needs the analysis-common module (absent from the integ-test distribution: `adapt` drops it there).
WORD_PARTS_ANALYSIS: dict[str, Any] = {
    "filter": {
        "mail_word_parts": {
            "type": "word_delimiter_graph", "preserve_original": True, "split_on_case_change": False,
            "split_on_numerics": False, "stem_english_possessive": False,
        },
    },
    "analyzer": {
        "default": {"type": "custom", "tokenizer": "standard", "filter": ["mail_word_parts", "flatten_graph",
                                                                          "lowercase"]},
        "default_search": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase"]},
    },
}  # fmt: skip
ANALYSIS_MODULE = "analysis-common"


def _settings(description: str, lifecycle: bool, word_parts: bool = False) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "index.codec": "best_compression",
        # one replica where there is a second node; none on a single node, which then stays green
        "index.auto_expand_replicas": "0-1",
    }
    if lifecycle:
        settings["index.lifecycle.name"] = LOGS_POLICY
    if word_parts:
        settings["analysis"] = copy.deepcopy(WORD_PARTS_ANALYSIS)
    return {"template": {"settings": settings}, "_meta": _meta(description)}


def _mappings(props: dict[str, Any], description: str) -> dict[str, Any]:
    # strict: a field nobody defined is refused (and dead-lettered) instead of being guessed by dynamic
    # mapping; every field the parser emits is in fields.yml, which tests check.
    mappings = {"dynamic": "strict", "date_detection": False, "numeric_detection": False, "properties": props}
    return {"template": {"mappings": mappings}, "_meta": _meta(description)}


def render() -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, name) → body, for every object shipper installs."""
    return {
        ("ilm", LOGS_POLICY): {
            "policy": {
                "_meta": _meta("Rollover and retention for logs-mail.* data streams"),
                "phases": {
                    "hot": {
                        "min_age": "0ms",
                        "actions": {
                            "rollover": {
                                "max_age": DEFAULT_ROLLOVER_AGE,
                                "max_primary_shard_size": DEFAULT_ROLLOVER_SIZE,
                            }
                        },
                    },
                    "delete": {"min_age": DEFAULT_DELETE_AFTER, "actions": {"delete": {}}},
                },
            }
        },
        ("component", "logs-mail@settings"): _settings(
            "Index settings of logs-mail.* data streams", lifecycle=True, word_parts=True
        ),
        ("component", "logs-mail@mappings"): _mappings(
            properties(load_fields()), "Field mappings of mail log events, from shipper's fields.yml"
        ),
        ("index", "logs-mail"): {
            "index_patterns": [DATA_STREAM_PATTERN],
            "data_stream": {},
            "priority": PRIORITY,
            "composed_of": ["logs-mail@settings", "logs-mail@mappings", "logs-mail@custom"],
            "ignore_missing_component_templates": ["logs-mail@custom"],
            "_meta": _meta(
                "Mail log events: data streams logs-mail.<source>-<namespace>; put overrides in logs-mail@custom"
            ),
        },
        ("component", "mail-transactions@settings"): _settings(
            "Index settings of mail-transactions-* indices", lifecycle=False, word_parts=True
        ),
        ("component", "mail-transactions@mappings"): _mappings(
            properties(transaction_fields()), "Field mappings of message transactions, from shipper's transactions.yml"
        ),
        ("index", "mail-transactions"): {
            "index_patterns": [TRANSACTIONS_PATTERN],
            "priority": PRIORITY,
            "composed_of": ["mail-transactions@settings", "mail-transactions@mappings", "mail-transactions@custom"],
            "ignore_missing_component_templates": ["mail-transactions@custom"],
            "_meta": _meta("One document per message, updated by _id; put overrides in mail-transactions@custom"),
        },
        ("component", "metrics-mail.queue@settings"): _settings(
            "Index settings of metrics-mail.queue-* data streams", lifecycle=True
        ),
        ("component", "metrics-mail.queue@mappings"): _mappings(
            properties(queue_fields()), "Field mappings of mail queue snapshots, from shipper's queue.yml"
        ),
        ("index", "metrics-mail.queue"): {
            "index_patterns": [QUEUE_PATTERN],
            "data_stream": {},
            "priority": PRIORITY,  # above the stack's built-in metrics-*-*
            "composed_of": ["metrics-mail.queue@settings", "metrics-mail.queue@mappings", "metrics-mail.queue@custom"],
            "ignore_missing_component_templates": ["metrics-mail.queue@custom"],
            "_meta": _meta(
                "Mail queue snapshots: metrics-mail.queue-<namespace>; put overrides in metrics-mail.queue@custom"
            ),
        },
    }


def file_name(kind: str, name: str) -> str:
    return f"{kind}/{name}.json"


def dumps(body: dict[str, Any]) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)


def write(directory: Path) -> list[Path]:
    written = []
    for (kind, name), body in render().items():
        path = directory / file_name(kind, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(dumps(body))
        written.append(path)
    return written


def load_bundled() -> dict[tuple[str, str], dict[str, Any]]:
    """The objects as bundled (index_templates/ in a checkout, shipper/_data/index_templates in a wheel),
    in install order: policies, then component templates, then the index templates that use them."""
    root = data_dir("index_templates")
    objects = {}
    for kind in KINDS:
        for path in sorted((root / kind).glob("*.json")):
            objects[(kind, path.stem)] = orjson.loads(path.read_bytes())
    return objects


@dataclass(frozen=True)
class LifecycleAges:
    rollover_age: str = DEFAULT_ROLLOVER_AGE
    rollover_size: str = DEFAULT_ROLLOVER_SIZE
    delete_after: str | None = DEFAULT_DELETE_AFTER  # None: keep forever


@dataclass
class Adapted:
    objects: dict[tuple[str, str], dict[str, Any]]
    notes: list[str] = field(default_factory=list)


def adapt(objects: dict[tuple[str, str], dict[str, Any]], caps: Capabilities, ages: LifecycleAges) -> Adapted:
    """Fit the bundled objects to one cluster, saying what changed and why."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    notes: list[str] = []
    replaced: dict[str, str] = {}
    no_word_parts = False
    for (kind, name), original in objects.items():
        body = copy.deepcopy(original)
        if kind == "ilm":
            if not caps.ilm:
                continue
            phases = body["policy"]["phases"]
            phases["hot"]["actions"]["rollover"] = {
                "max_age": ages.rollover_age,
                "max_primary_shard_size": ages.rollover_size,
            }
            if ages.delete_after is None:
                phases.pop("delete", None)
            else:
                phases["delete"] = {"min_age": ages.delete_after, "actions": {"delete": {}}}
        template = body.get("template", {})
        if not caps.ilm and "index.lifecycle.name" in template.get("settings", {}):
            del template["settings"]["index.lifecycle.name"]
        if (
            caps.modules is not None
            and ANALYSIS_MODULE not in caps.modules
            and "analysis" in template.get("settings", {})
        ):
            del template["settings"]["analysis"]
            no_word_parts = True
        if "mappings" in template:
            template["mappings"], more = adapt_mappings(template["mappings"], caps)
            replaced.update(more)
        out[(kind, name)] = body
    if not caps.ilm:
        notes.append(
            "ILM is not available on this cluster: installed without a lifecycle policy, "
            "so logs-mail.* data streams neither roll over by age nor expire"
        )
    if no_word_parts:
        notes.append(
            f"the cluster lacks the {ANALYSIS_MODULE} module: text is indexed with the standard analyzer, so parts"
            " of host names and addresses (spamhaus in zen.spamhaus.org) are not found on their own"
        )
    for kind, module in sorted(replaced.items()):
        fallback = "text" if kind == "match_only_text" else "keyword"
        notes.append(f"the cluster lacks the {module} module: fields of type {kind} are mapped as {fallback}")
    return Adapted(out, notes)


def content_hash(body: dict[str, Any]) -> str:
    """Fingerprint of what shipper installs, kept in the object's _meta to detect drift later."""
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def with_meta(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """The body to PUT: its _meta gains shipper's version and the content hash."""
    stamped = copy.deepcopy(body)
    meta_holder = stamped["policy"] if kind == "ilm" else stamped
    meta = meta_holder.setdefault("_meta", {})
    meta["shipper_version"] = __version__
    meta["content_hash"] = content_hash(body)
    return stamped
