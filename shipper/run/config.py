"""`shipper run`'s configuration: a YAML file validated by pydantic, errors that name file, key and expectation.

Secrets are never config values: the Elasticsearch password, API key and bearer token come from the
environment (ES_PASSWORD, ES_API_KEY, ES_BEARER_TOKEN) or from files the config names.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ByteSize,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)  # fmt: skip

from shipper.core.durations import Seconds
from shipper.elastic.connection import redact
from shipper.outputs.config import ElasticsearchOutputConfig, OutputConfig
from shipper.yamlload import load_yaml

DEFAULT_INPUTS_FILE = Path(__file__).with_name("default_inputs.yml")


class ConfigError(ValueError):
    """A configuration problem, already phrased for the user (file, key, what was expected)."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _checked_zone(value: str | None) -> str | None:
    from shipper.parse.timestamps import resolve_timezone

    if value is not None:
        resolve_timezone(value)
    return value


# an input's own zone for timestamps without one; None: the top-level `timezone`
OptionalZone = Annotated[str | None, AfterValidator(_checked_zone)]


class InputConfig(Strict):
    """Files followed (`type: files`, the default)."""

    type: Literal["files"] = "files"
    paths: list[str] = Field(min_length=1)
    source: str | None = None  # the pack for every line; None: chosen by program name
    exclude: list[str] = []  # glob patterns of file names to leave alone
    follow_symlinks: bool = False  # follow links to files owned by root or the directory's owner (docs/security.md)
    timezone: OptionalZone = None


class TlsFilesConfig(Strict):
    certificate: Path  # PEM, the chain the receiver presents
    key: Path  # PEM, its private key (readable by shipper only)
    client_ca: Path | None = None  # PEM CAs: when set, senders must present a certificate they signed


class SpoolConfig(Strict):
    path: Path  # a directory of shipper's own
    max_size: ByteSize = ByteSize(1024**3)  # then: backpressure for TCP, counted drops for UDP


class SyslogInputConfig(Strict):
    """A syslog receiver (`type: syslog`): RFC 3164 and RFC 5424 over UDP, TCP and TLS (RFC 6587 framing)."""

    type: Literal["syslog"]
    listen: list[str] = Field(min_length=1)  # udp://127.0.0.1:514, tcp://0.0.0.0:514, tls://[::]:6514
    tls: TlsFilesConfig | None = None
    spool: SpoolConfig | None = None  # None: messages wait in memory (lost if shipper dies)
    memory_queue: ByteSize = ByteSize(64 * 1024**2)  # without a spool: what may wait for the output
    max_frame: int = Field(64 * 1024, ge=1024, le=1024**2)  # longer messages are cut and tagged `truncated`
    max_connections: int = Field(1000, ge=1)  # then a new one takes the place of the one silent the longest
    idle_timeout: Seconds = 600.0  # a connection silent this long is closed
    source: str | None = None  # the pack for every message; None: chosen by program name
    timezone: OptionalZone = None

    @field_validator("listen")
    @classmethod
    def _endpoints(cls, value: list[str]) -> list[str]:
        from shipper.receive.server import Endpoint

        for text in value:
            Endpoint.parse(text)
        return value

    @model_validator(mode="after")
    def _tls_files(self) -> SyslogInputConfig:
        if any(text.startswith("tls://") for text in self.listen) and self.tls is None:
            raise ValueError("a tls:// listener needs `tls: {certificate: ..., key: ...}`")
        return self


class JournaldInputConfig(Strict):
    """The systemd journal (`type: journald`), through `journalctl -o json --follow`, resumed from the cursor
    the registry keeps."""

    type: Literal["journald"]
    units: list[str] = []  # journalctl --unit (postfix@-.service, dovecot.service, ssh.service)
    identifiers: list[str] = []  # journalctl --identifier (SYSLOG_IDENTIFIER: postfix/smtpd, sshd)
    matches: list[str] = []  # journalctl FIELD=value matches (_SYSTEMD_UNIT=..., _TRANSPORT=syslog)
    directory: Path | None = None  # another machine's or a container's journal (journalctl --directory)
    files: list[Path] = []  # journal files (journalctl --file)
    source: str | None = None
    timezone: OptionalZone = None

    @field_validator("matches")
    @classmethod
    def _matches(cls, value: list[str]) -> list[str]:
        for match in value:
            if match != "+" and not re.fullmatch(r"[A-Z0-9_]+=.*", match):
                raise ValueError(f"expected FIELD=value (or +), got {match!r}")
        return value


# the journal's mail and login units, followed when the config names no inputs and no usual file exists
DEFAULT_JOURNAL_UNITS = [
    "postfix.service", "postfix@-.service", "exim4.service", "exim.service", "sendmail.service", "dovecot.service",
    "ssh.service", "sshd.service", "amavis.service", "amavisd.service", "clamav-daemon.service",
    "clamav-freshclam.service", "spamassassin.service", "spamd.service", "opendkim.service", "cyrus-imapd.service",
]  # fmt: skip
_INPUT_TYPES = ("files", "syslog", "journald")


def _input_type(value: Any) -> str:
    kind = value.get("type", "files") if isinstance(value, dict) else getattr(value, "type", "files")
    return kind if kind in _INPUT_TYPES else "files"


AnyInput = Annotated[
    Annotated[InputConfig, Tag("files")]
    | Annotated[SyslogInputConfig, Tag("syslog")]
    | Annotated[JournaldInputConfig, Tag("journald")],
    Discriminator(_input_type),
]


class RegistryConfig(Strict):
    path: Path = Path("/var/lib/shipper/registry.json")
    flush_interval: Seconds = 1.0


class MetricsConfig(Strict):
    enabled: bool = False
    host: str = "127.0.0.1"  # localhost unless you say otherwise
    port: int = Field(9479, ge=1, le=65535)


class TransactionsConfig(Strict):
    """Message transactions: lines joined by queue ID, delivery lines enriched with their message's sender and
    client, and (for an output that replaces documents by id, Elasticsearch) each message's document in
    mail-transactions-<namespace>, rewritten at most every `update_interval` while it changes and once more
    when it closes."""

    enabled: bool = True
    ttl: Seconds = 6 * 86400.0  # log time without a line after which an open message is given up
    max_open: int = Field(1_000_000, ge=1)  # open messages held at most (about 1 KB each); then the oldest goes
    update_interval: Seconds = 30.0


class QueueInputConfig(Strict):
    """Queue snapshots every `interval` into metrics-mail.queue-<namespace> (Elasticsearch output only):
    a document per queued message and a summary per host, as `shipper queue snapshot` writes them."""

    enabled: bool = False
    interval: Seconds = 60.0
    mta: Literal["auto", "postfix", "exim", "sendmail", "qmail"] = "auto"
    mta_config: str | None = None  # another instance: Postfix config directory (-c), Exim config file (-C)


class GeoIpConfig(Strict):
    """MaxMind-format databases for source.geo.* / source.as.* (GeoLite2 City and ASN are two files)."""

    database: list[str] = Field(min_length=1)

    @field_validator("database", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("database")
    @classmethod
    def _readable(cls, value: list[str]) -> list[str]:
        from shipper.enrich.geoip import GeoIp

        GeoIp([Path(p) for p in value]).close()  # GeoIpError (a ValueError): reported with its key
        return value


class RunConfig(Strict):
    inputs: list[AnyInput] | None = None  # None: the built-in default locations (files)
    output: OutputConfig
    registry: RegistryConfig = RegistryConfig()
    timezone: str = "local"
    host_name: str | None = None  # host.name on every event; default: this machine's name
    # Where to start in a file seen for the first time. `beginning` ships what is already there, so a
    # first start or a file created while shipper was down loses nothing; `end` only ships new lines.
    start_position: Literal["beginning", "end"] = "beginning"
    scan_interval: Seconds = 1.0  # stat polling, the fallback for missed filesystem events
    partial_line_timeout: Seconds = 5.0  # a last line without newline is shipped after this long
    close_inactive: Seconds = 300.0  # close a file not written for this long (reopened when it grows)
    status_interval: Seconds = 30.0
    shutdown_timeout: Seconds = 10.0
    queue_batches: int = Field(4, ge=1)  # bulk batches waiting for the output: bounds memory
    metrics: MetricsConfig = MetricsConfig()  # Prometheus /metrics, off by default
    transactions: TransactionsConfig = TransactionsConfig()
    queue: QueueInputConfig = QueueInputConfig()
    geoip: GeoIpConfig | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from shipper.parse.timestamps import resolve_timezone

        resolve_timezone(value)
        return value

    def effective_inputs(self) -> list[InputConfig]:
        """The files followed: the configured ones, else the built-in default locations."""
        if self.inputs is not None:
            return [item for item in self.inputs if isinstance(item, InputConfig)]
        return [InputConfig(**item) for item in load_yaml(DEFAULT_INPUTS_FILE.read_text(encoding="utf-8"))]

    def syslog_inputs(self) -> list[SyslogInputConfig]:
        return [item for item in self.inputs or [] if isinstance(item, SyslogInputConfig)]

    def journald_inputs(self) -> list[JournaldInputConfig]:
        """The configured ones; with no `inputs` at all, the mail units of the journal when none of the usual
        files exists (a systemd host without rsyslog) and journalctl is there."""
        if self.inputs is not None:
            return [item for item in self.inputs if isinstance(item, JournaldInputConfig)]
        import glob
        import shutil

        usual = [p for item in self.effective_inputs() for p in item.paths]
        if any(glob.glob(p) for p in usual) or shutil.which("journalctl") is None:
            return []
        return [JournaldInputConfig(type="journald", units=DEFAULT_JOURNAL_UNITS)]

    def effective_host_name(self) -> str:
        return self.host_name or socket.gethostname()

    def namespace(self) -> str:
        return self.output.namespace if isinstance(self.output, ElasticsearchOutputConfig) else "default"


def _where(loc: tuple[Any, ...]) -> str:
    # pydantic names the chosen input type after the index (`inputs.0.syslog.listen`): the user wrote no such key
    parts = [p for i, p in enumerate(loc) if not (i and isinstance(loc[i - 1], int) and p in _INPUT_TYPES)]
    return ".".join(f"[{part}]" if isinstance(part, int) else str(part) for part in parts).replace(".[", "[")


def load_config(path: Path, unresolved: list[str] | None = None) -> RunConfig:
    """Read and validate; every problem is reported as `FILE: KEY: problem (got VALUE)`.

    With `unresolved` (check-config, status: commands that never reach the output), a `${VAR}` under
    `output:` that this environment does not set is no error: its key is left out and named in the list."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        raw = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with at least `output:`, got {type(raw).__name__}")
    raw = _expand_env(raw, path, (), unresolved)
    _anchor_paths(raw, path.absolute().parent)
    try:
        config = RunConfig.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = str(error["msg"]).removeprefix("Value error, ")
            # never echo what was written under output.elasticsearch: a value there may hold credentials
            secret = tuple(error["loc"][:2]) == ("output", "elasticsearch")
            quiet = secret or error["type"] in ("missing", "extra_forbidden") or "got " in message
            got = "" if quiet else f" (got {redact(repr(error['input']))})"
            if error["type"] == "extra_forbidden":
                message = "unknown key (misspelt?)"
            problems.append(f"{path}: {_where(error['loc']) or '(top level)'}: {message}{got}")
        raise ConfigError("\n".join(problems)) from None
    _check_sources(path, config)
    return config


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


_UNSET = object()


def _expand_env(value: Any, path: Path, loc: tuple[Any, ...], unresolved: list[str] | None) -> Any:
    """`${NAME}` and `${NAME:-default}` in string values, as in Filebeat's configs."""
    if isinstance(value, dict):
        pairs = ((k, _expand_env(v, path, (*loc, k), unresolved)) for k, v in value.items())
        return {k: v for k, v in pairs if v is not _UNSET}
    if isinstance(value, list):
        items = (_expand_env(v, path, (*loc, i), unresolved) for i, v in enumerate(value))
        return [v for v in items if v is not _UNSET]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = os.environ.get(name)
        if found is None and default is None:
            raise ConfigError(
                f"{path}: {_where(loc)}: environment variable {name} is not set (write ${{{name}:-default}})"
            )
        return found if found is not None else default

    try:
        return _ENV.sub(substitute, value)
    except ConfigError:
        if unresolved is None or not loc or loc[0] != "output":
            raise
        unresolved.append(f"{_where(loc)}: {', '.join(m.group(1) for m in _ENV.finditer(value))} not set here")
        return _UNSET


def _anchor_paths(raw: dict[str, Any], base: Path) -> None:
    """Relative paths in the config are relative to the config file, never to the working directory."""
    for item in raw.get("inputs") or []:
        if isinstance(item, dict) and isinstance(item.get("paths"), list):
            item["paths"] = [p if not isinstance(p, str) or os.path.isabs(p) else os.path.normpath(base / p)
                             for p in item["paths"]]  # fmt: skip
        if isinstance(item, dict) and isinstance(item.get("directory"), str) and not os.path.isabs(item["directory"]):
            item["directory"] = os.path.normpath(base / item["directory"])
        if isinstance(item, dict) and isinstance(item.get("files"), list):
            item["files"] = [p if not isinstance(p, str) or os.path.isabs(p) else os.path.normpath(base / p)
                             for p in item["files"]]  # fmt: skip
        for parent, key in ((item, "spool"), (item, "tls")) if isinstance(item, dict) else ():
            section = parent.get(key)
            if isinstance(section, dict):
                for name in ("path", "certificate", "key", "client_ca"):
                    if isinstance(section.get(name), str) and not os.path.isabs(section[name]):
                        section[name] = os.path.normpath(base / section[name])
    geoip = raw.get("geoip")
    if isinstance(geoip, dict) and isinstance(geoip.get("database"), str | list):
        listed = geoip["database"] if isinstance(geoip["database"], list) else [geoip["database"]]
        geoip["database"] = [p if not isinstance(p, str) or os.path.isabs(p) else os.path.normpath(base / p)
                             for p in listed]  # fmt: skip
    registry = raw.get("registry")
    if isinstance(registry, dict) and isinstance(registry.get("path"), str) and not os.path.isabs(registry["path"]):
        registry["path"] = os.path.normpath(base / registry["path"])
    file_out = (raw.get("output") or {}).get("file") if isinstance(raw.get("output"), dict) else None
    if isinstance(file_out, dict) and isinstance(file_out.get("path"), str) and not os.path.isabs(file_out["path"]):
        file_out["path"] = os.path.normpath(base / file_out["path"])


def _check_sources(path: Path, config: RunConfig) -> None:
    from shipper.parse.packs import load_packs

    known = {pack.source for pack in load_packs()}
    for i, item in enumerate(config.inputs or []):
        if item.source is not None and item.source not in known:
            raise ConfigError(f"{path}: inputs[{i}].source: unknown source {item.source!r} (known: {sorted(known)})")
