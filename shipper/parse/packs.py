"""Pattern packs: YAML data in `grok_patterns/`, validated with pydantic and compiled once.

A pack claims programs by a regex on `process.name`, names a dataset, and holds rules. A rule is a grok
expression whose captures name event fields directly (`%{IP:source.ip}` or `(?<source.ip>...)`), the ECS
`event.*` values it implies, static fields, derivations, and example lines that are run as tests.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from functools import cache
from pathlib import Path
from typing import Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from shipper.parse.multiline import MultilineSpec
from shipper.resources import grok_patterns_dir
from shipper.schema.fields import load_fields
from shipper.yamlload import load_yaml

EVENT_CATEGORIES = {
    "api", "authentication", "configuration", "database", "driver", "email", "file", "host", "iam",
    "intrusion_detection", "library", "malware", "network", "package", "process", "registry", "session",
    "threat", "vulnerability", "web",
}  # fmt: skip
EVENT_TYPES = {
    "access", "admin", "allowed", "change", "connection", "creation", "deletion", "denied", "device", "end",
    "error", "group", "indicator", "info", "installation", "protocol", "start", "user",
}  # fmt: skip


class PackError(ValueError):
    """A pack file that cannot be loaded; the message names the file, the key and what was expected."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EventSpec(_Strict):
    category: list[str] = Field(min_length=1)
    type: list[str] = Field(min_length=1)
    action: str
    outcome: Literal["success", "failure", "unknown"] | None = None

    @field_validator("category", "type")
    @classmethod
    def _ecs_values(cls, value: list[str], info: ValidationInfo) -> list[str]:
        allowed = EVENT_CATEGORIES if info.field_name == "category" else EVENT_TYPES
        bad = set(value) - allowed
        if bad:
            raise ValueError(f"not ECS event.{info.field_name} values: {sorted(bad)}")
        return value


class Derive(_Strict):
    """Fill a field the rule did not capture from one it did: by value map, by regex, by copy, or by a
    list of every match of `findall` (its group, if it has one), e.g. `<a>,<b>` into `[a, b]`; with
    `findall`, `to` may be `from` itself, which is then replaced by the list."""

    source: str = Field(alias="from")
    to: str | None = None
    map: dict[str, Any] | None = None
    pattern: str | None = None
    findall: str | None = None

    @model_validator(mode="after")
    def _shape(self) -> Derive:
        if self.pattern is None and self.to is None:
            raise ValueError("a derive needs `to` (with `map` or `findall` optional) or a `pattern` with captures")
        if self.pattern is not None and (self.to is not None or self.map is not None or self.findall is not None):
            raise ValueError("a derive takes either `pattern` or `to` (with `map` or `findall`), not both")
        if self.findall is not None and self.map is not None:
            raise ValueError("a derive takes `map` or `findall`, not both")
        if self.findall is not None and re.compile(self.findall).groups > 1:
            raise ValueError("`findall` may have at most one group")
        return self


class Example(_Strict):
    line: str
    fields: dict[str, Any] = Field(default_factory=dict)


class Rule(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    daemons: list[str] = Field(default_factory=list)
    match: str
    event: EventSpec
    set: dict[str, Any] = Field(default_factory=dict)
    derive: list[Derive] = Field(default_factory=list)
    note: str | None = None
    examples: list[Example] = Field(min_length=1)
    # A catch-all: it keeps a line the pack claims but extracts next to nothing. Its events are tagged
    # `generic` and counted apart from matched ones (a gap to close, not a success). Catch-alls (ids ending
    # in `-other`) are generic whatever this says.
    generic: bool = False

    @model_validator(mode="before")
    @classmethod
    def _catch_all_is_generic(cls, data: Any) -> Any:
        if isinstance(data, dict) and str(data.get("id", "")).endswith("-other"):
            return {**data, "generic": True}
        return data


CorrelationRole = Literal[
    "client",
    "header",
    "envelope",
    "delivery",
    "delivery-start",
    "expired",
    "removed",
    "bounce",
    "rejected",
    "hop",
    "smtp-reject",
    "hold",
    "release",
    "deleted",
]


class CorrelationSpec(_Strict):
    """How a pack's events join into message transactions (shipper/enrich/correlate.py): the field that
    holds the queue ID, and the role of each `event.action` in a message's life."""

    key: str = "email.local_id"
    roles: dict[str, CorrelationRole]
    local_relays: list[str] = ["127.0.0.1", "::1", "localhost"]  # a delivery to these that is queued
    # under a new ID is a hop through a content filter, not the recipient's fate; one the filter answered
    # with `discard_reply` (e.g. Amavis' `250 2.7.0 Ok, discarded, id=... - spam`) was discarded there
    discard_reply: str = r"\bdiscarded\b"
    # an MTA whose delivery results name a delivery, not the message (qmail): the field holding the delivery
    # number; a `delivery-start` line maps it to its message and recipient
    delivery_key: str | None = None
    close_when_final: bool = False  # an MTA that logs no removal (Sendmail): done when all nrcpt recipients are
    # an MTA whose bounce line names neither the notification's queue ID nor is named by it (qmail): the field
    # both carry (qmail-queue's `qp`), so the notification's envelope line finds its parent
    notification_key: str | None = None
    # a message kept out of delivery until an admin lets it go (Postfix's hold queue, Exim's frozen
    # messages): the MTA's word for that state (`mail.status`) and the command that lets it go ({id}: the
    # queue ID); `hold` and `release` roles, or a check's `hold` action (mail.reject.action), set and clear it
    held_status: str = "held"
    release_command: str | None = None


class Pack(_Strict):
    source: str = Field(pattern=r"^[a-z0-9_]+$")
    # mail.<source>, or mail.<family>.<source> (mail.auth.sshd, mail.zimbra.mailbox): every data stream
    # shipper writes is logs-mail.*, one template, lifecycle, privilege and Kibana data view for all
    dataset: str = Field(pattern=r"^mail\.[a-z0-9_]+(?:\.[a-z0-9_]+)?$")
    description: str
    programs: str
    paths: list[str] = Field(default_factory=list)  # globs of files that hold this source's lines without a
    # syslog program (Exim's mainlog, freshclam.log): matched against the file's path and its name
    own_files: bool = False  # a file `paths` names holds only this source's lines, whatever program they
    # seem to name (Dovecot's log_path: `imap-login: Info: ...` has no host, its service looks like a program)
    # a line whose program no pack claims goes to the first pack whose `messages` regex matches the start of
    # its message: PAM's `pam_unix(vsftpd:auth): ...` is written by every service that uses PAM
    messages: str | None = None
    # how every line of its own files starts (a regex on the raw line): only such lines can make an input
    # of no telling name this source's (shipper/parse/sniff.py)
    layout: str | None = None
    prefix: str = ""
    defaults: dict[str, Any] = Field(default_factory=dict)
    patterns: dict[str, str] = Field(default_factory=dict)
    multiline: MultilineSpec | None = None  # events spanning lines (see shipper/parse/multiline.py)
    correlation: CorrelationSpec | None = None  # message transactions (see shipper/enrich/correlate.py)
    rules: list[Rule] = Field(min_length=1)
    path: Path | None = Field(default=None, exclude=True)

    @field_validator("messages", "layout")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> Pack:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        return self


def _format_validation(path: Path, exc: ValidationError, raw: dict[str, Any]) -> str:
    problems = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = ""
        for part in loc:
            if isinstance(part, int):
                where += f"[{part}]"
            else:
                where += f".{part}" if where else str(part)
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            rules = raw.get("rules") or []
            if loc[1] < len(rules) and isinstance(rules[loc[1]], dict) and "id" in rules[loc[1]]:
                where += f" (rule {rules[loc[1]]['id']!r})"
        problems.append(f"{path}: {where or '<top>'}: {err['msg']}")
    return "\n".join(problems)


PARSED = "parsed.json"  # in a packs directory: its packs as YAML reads them (scripts/regen_parsed_packs.py)


def parsed_packs(directory: Path) -> dict[str, Any]:
    """{SHA-256 of a pack file: what YAML reads in it} for the packs of a directory whose data JSON keeps
    exactly (a map with numbers for keys does not: those are read from their YAML each time)."""
    parsed = {}
    for path in sorted(directory.glob("*.yml")):
        data = path.read_bytes()
        raw = load_yaml(data.decode("utf-8"))
        try:
            kept = orjson.loads(orjson.dumps(raw))
        except TypeError:
            continue
        if kept == raw:  # orjson keeps int and float, bool and None apart; a date comes back a str
            parsed[hashlib.sha256(data).hexdigest()] = raw
    return parsed


@cache
def _read_parsed(directory: Path) -> dict[str, Any]:
    try:
        found = orjson.loads((directory / PARSED).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return found if isinstance(found, dict) else {}


def _pack_data(path: Path) -> Any:
    """What YAML reads in a pack file: from its directory's parsed.json when that holds the file's digest.
    PyYAML's constructors run in Python even with libyaml's parser: 35 ms for the bundled packs on every
    command's start, against 1.5 ms for orjson. A pack edited or added is read from its YAML."""
    data = path.read_bytes()
    parsed = _read_parsed(path.parent).get(hashlib.sha256(data).hexdigest())
    return parsed if parsed is not None else load_yaml(data.decode("utf-8"))


def load_pack(path: Path) -> Pack:
    try:
        raw = _pack_data(path)
    except yaml.YAMLError as exc:
        raise PackError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise PackError(f"{path}: expected a mapping with source, dataset, programs and rules")
    try:
        pack = Pack.model_validate({**raw, "path": path})
    except ValidationError as exc:
        raise PackError(_format_validation(path, exc, raw)) from None
    return pack


def multiline_specs(packs: tuple[Pack, ...]) -> dict[str, MultilineSpec]:
    """source -> how its events span lines, for the packs that declare it."""
    return {p.source: p.multiline for p in packs if p.multiline is not None}


@cache
def load_packs(directory: Path | None = None) -> tuple[Pack, ...]:
    directory = directory or grok_patterns_dir()
    packs = tuple(load_pack(p) for p in sorted(directory.glob("*.yml")))
    sources = [p.source for p in packs]
    duplicated = {s for s in sources if sources.count(s) > 1}
    if duplicated:
        raise PackError(f"{directory}: source defined twice: {sorted(duplicated)}")
    return packs


# --- compilation -------------------------------------------------------------------------------------

_REF = re.compile(r"%\{(?P<name>\w+)(?::(?P<field>[@\w.]+))?(?::\w+)?\}")
_NAMED = re.compile(r"\(\?P?<(?P<field>[@A-Za-z_][\w.@]*)>")


@cache
def grok_library() -> dict[str, str]:
    """pygrok's bundled grok pattern library (IP, HOSTNAME, INT, NUMBER, ...), read once from its files
    as pygrok reads them (`NAME regex` lines, `#` comments). Read without importing pygrok, which imports
    the `regex` module: 9 ms of every command's start, for files of text."""
    spec = importlib.util.find_spec("pygrok")
    if spec is None or not spec.submodule_search_locations:
        raise PackError("pygrok is not installed: its grok pattern library is missing")
    directory = Path(next(iter(spec.submodule_search_locations))) / "patterns"
    library: dict[str, str] = {}
    for path in sorted(directory.iterdir()):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, regex = line.partition(" ")
                library[name] = regex.strip()
    return library


class Expansion:
    """Grok text → stdlib-`re` text with unique group aliases (`g0`, `g1`, ...) mapped to field names.

    Expanded here rather than by `pygrok.Grok`: pygrok cannot name groups with dotted field names, cannot
    reuse a capturing sub-pattern twice in one expression (Python forbids duplicate group names), wraps
    every unnamed reference in a capturing group (slower to compile and match) and re-reads its pattern
    files on every construction. Its pattern library is used as is.
    """

    def __init__(self, local_patterns: dict[str, str], where: str) -> None:
        self.local = local_patterns
        self.where = where
        self.groups: dict[str, str] = {}
        self._counter = 0

    def _alias(self, field: str) -> str:
        if field not in load_fields():
            raise PackError(f"{self.where}: capture names unknown field {field!r} (add it to fields.yml)")
        alias = f"g{self._counter}"
        self._counter += 1
        self.groups[alias] = field
        return alias

    def expand(self, text: str, depth: int = 0) -> str:
        if depth > 30:
            raise PackError(f"{self.where}: pattern references nest too deep (a cycle?)")
        text = _NAMED.sub(lambda m: f"(?P<{self._alias(m['field'])}>", text)

        def ref(m: re.Match[str]) -> str:
            name, field = m["name"], m["field"]
            if name in self.local:
                source = self.local[name]
            elif name in grok_library():
                source = grok_library()[name]
            else:
                raise PackError(f"{self.where}: unknown grok pattern %{{{name}}}")
            body = self.expand(source, depth + 1)
            return f"(?P<{self._alias(field)}>{body})" if field else f"(?:{body})"

        return _REF.sub(ref, text)
