"""How to reach Elasticsearch: hosts or Cloud ID, credentials, TLS. Secrets never reach a log or a message.

Secrets come from the environment or from files, never from command-line values (which `ps` shows):
ES_PASSWORD / --es-password-file, ES_API_KEY / --es-api-key-file, ES_BEARER_TOKEN / --es-bearer-token-file.
TLS certificates are verified unless the user says otherwise, and then a warning says so.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch


class ConnectionSettingsError(ValueError):
    """A connection setting that cannot work; the message names the setting."""


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_HOST_AFTER_AT = re.compile(r"(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?=[:/?#\s'\"),;]|$)")


def _userinfo_spans(text: str) -> list[tuple[int, int]]:
    """Where `user:password` stands in each URL of `text`. Parsed, not guessed from URL syntax: a pasted
    password may hold `/`, `@`, `#` or spaces, so the userinfo runs from `scheme://` to the last `@` before
    the next URL or line end that a host name follows."""
    starts = [m.end() for m in _SCHEME.finditer(text)]
    spans = []
    for i, start in enumerate(starts):
        line_end = text.find("\n", start)
        end = min(starts[i + 1] if i + 1 < len(starts) else len(text), line_end if line_end >= 0 else len(text))
        at = text.rfind("@", start, end)
        while at >= start and not _HOST_AFTER_AT.match(text, at + 1):
            at = text.rfind("@", start, at)
        if at >= start:
            spans.append((start, at))
    return spans


def redact(text: str) -> str:
    """Hide the `user:password` of every URL inside any text (`https://***@host:9200`)."""
    out, pos = [], 0
    for start, at in _userinfo_spans(text):
        out += [text[pos:start], "***"]
        pos = at
    return "".join(out) + text[pos:]


def has_credentials(url: str) -> bool:
    return bool(_userinfo_spans(url))


def check_fingerprint(value: str) -> str:
    """A SHA-256 certificate fingerprint, as `openssl x509 -fingerprint -sha256` prints it or bare hex."""
    digits = value.replace(":", "").replace(" ", "").lower()
    if not re.fullmatch(r"[0-9a-f]*", digits):
        raise ValueError("fingerprint: expected hex digits (colons allowed), got other characters")
    if len(digits) in (32, 40):
        raise ValueError(
            "fingerprint: that is an MD5 or SHA-1 fingerprint; give the SHA-256 one "
            "(openssl x509 -noout -fingerprint -sha256 -in CERT)"
        )
    if len(digits) != 64:
        raise ValueError(f"fingerprint: expected a SHA-256 fingerprint (64 hex digits), got {len(digits)} digits")
    return digits


# What a connection error usually means, and what to do: (pattern in the error, hint).
HINTS = (
    ("CERTIFICATE_VERIFY_FAILED", "the server's certificate is not trusted: give its CA with --ca-file (ca_file:),"
                                  " or pin it with --fingerprint (the SHA-256 Elasticsearch printed at setup)"),
    ("WRONG_VERSION_NUMBER", "the server does not speak TLS on that port: use http:// (or turn TLS on there)"),
    ("record layer failure", "the server does not speak TLS on that port: use http:// (or turn TLS on there)"),
    ("HTTP 401", "the credentials were refused: check the user and ES_PASSWORD / --es-password-file, or the API key"),
    ("HTTP 403", "the user lacks a privilege this needs (docs/elasticsearch.md lists them)"),
    ("Connection refused", "nothing listens there: is Elasticsearch running, and are host and port right?"),
)  # fmt: skip


def describe_error(exc: BaseException) -> str:
    """A client error as one readable line without secrets: the transport's cause, or status and reason, with
    a hint where the cause is a usual one (an untrusted certificate, https on an http port, refused
    credentials)."""
    status = getattr(exc, "status_code", None)
    body = getattr(exc, "body", None)
    if status is not None:
        reason = body.get("error") if isinstance(body, dict) else None
        if isinstance(reason, dict):
            reason = f"{reason.get('type')}: {reason.get('reason')}"
        text = f"HTTP {status}: {reason or getattr(exc, 'message', exc)}"
    else:
        text = str(getattr(exc, "message", None) or exc)
    return with_hint(redact(text)[:1000])


def with_hint(text: str) -> str:
    hint = next((h for pattern, h in HINTS if pattern in text), None)
    return f"{text} (hint: {hint})" if hint and "(hint:" not in text else text


def read_secret(path: Path, what: str) -> SecretStr:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConnectionSettingsError(f"{what} file {path}: {exc.strerror or exc}") from None
    if not value:
        raise ConnectionSettingsError(f"{what} file {path} is empty")
    return SecretStr(value)


class EsSettings(BaseModel):
    """How to reach Elasticsearch, as the CLI options and the config's `output:` give it: secrets by file or
    environment only. `connection()` resolves the secrets; `client()` builds the client. Every command and
    the service build their client here, so an option added once works everywhere."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hosts: list[str] = []
    cloud_id: str | None = None
    username: str | None = None
    password_file: Path | None = None
    api_key_file: Path | None = None
    bearer_token_file: Path | None = None
    ca_file: Path | None = None
    fingerprint: str | None = None
    verify_certs: bool = True
    request_timeout: float = Field(60.0, gt=0)

    @field_validator("hosts")
    @classmethod
    def _check_hosts(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            try:
                parts = urlsplit(host)
                valid = parts.scheme in ("http", "https") and parts.hostname and (parts.port or 0) >= 0
            except ValueError:  # a port that is no number: a password holding `/` cut the URL short
                valid = False
            if not valid:
                raise ValueError(f"{redact(host)!r} is not an http:// or https:// URL (host[:port])")
        return [h.rstrip("/") for h in hosts]

    @field_validator("fingerprint")
    @classmethod
    def _check_fingerprint(cls, value: str | None) -> str | None:
        return None if value is None else check_fingerprint(value)

    @classmethod
    def build(cls, **values: Any) -> EsSettings:
        """From the command line: a problem is one ConnectionSettingsError naming it."""
        try:
            return cls(**values)
        except ValidationError as exc:
            raise ConnectionSettingsError(_messages(exc)) from None

    @property
    def configured(self) -> bool:
        """Whether a cluster was given (hosts or a Cloud ID, here or in the environment)."""
        return bool(self.hosts or self.cloud_id or os.environ.get("ES_CLOUD_ID"))

    def connection(self, environ: Mapping[str, str] | None = None) -> EsConnection:
        """The settings with their secrets read (files first, then ES_PASSWORD, ES_API_KEY, ES_BEARER_TOKEN)."""
        env = os.environ if environ is None else environ
        password = (
            read_secret(self.password_file, "password") if self.password_file else _env_secret(env, "ES_PASSWORD")
        )
        api_key = read_secret(self.api_key_file, "API key") if self.api_key_file else _env_secret(env, "ES_API_KEY")
        token = (
            read_secret(self.bearer_token_file, "bearer token") if self.bearer_token_file
            else _env_secret(env, "ES_BEARER_TOKEN")
        )  # fmt: skip
        username = self.username or env.get("ES_USERNAME") or None
        if username is not None and password is None:
            raise ConnectionSettingsError(
                f"user {username!r} has no password: set ES_PASSWORD or give --es-password-file"
                " (output.elasticsearch.password_file in the config)"
            )
        try:
            return EsConnection(
                hosts=self.hosts, cloud_id=self.cloud_id or env.get("ES_CLOUD_ID") or None,
                username=username, password=password, api_key=api_key,
                bearer_token=token, ca_file=self.ca_file, fingerprint=self.fingerprint,
                verify_certs=self.verify_certs, request_timeout=self.request_timeout,
            )  # fmt: skip
        except ValidationError as exc:
            raise ConnectionSettingsError(_messages(exc)) from None


class EsConnection(BaseModel):
    """EsSettings with the secrets read: what a client is built from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hosts: list[str] = []
    cloud_id: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    bearer_token: SecretStr | None = None
    ca_file: Path | None = None
    fingerprint: str | None = None
    verify_certs: bool = True
    request_timeout: float = 60.0

    @model_validator(mode="after")
    def _check_auth(self) -> EsConnection:
        if not self.hosts and not self.cloud_id:
            raise ValueError("no Elasticsearch given: pass --es URL (or set ES_URL) or --cloud-id")
        if self.hosts and self.cloud_id:
            raise ValueError("give either --es URLs or --cloud-id, not both")
        methods = [m for m in (self.password, self.api_key, self.bearer_token) if m is not None]
        if any(has_credentials(h) for h in self.hosts):
            methods.append("url")  # type: ignore[arg-type]
        if len(methods) > 1:
            raise ValueError("give one of basic auth (user:password in the URL or a password), API key or bearer token")
        if self.password is not None and not self.username:
            raise ValueError("a password needs a user name (--es-user or ES_USERNAME)")
        if self.ca_file is not None and not self.ca_file.is_file():
            raise ValueError(f"CA file {self.ca_file} does not exist")
        return self

    def describe(self) -> str:
        """Where we connect, without secrets."""
        if self.hosts:
            return ", ".join(redact(h) for h in self.hosts)
        return f"cloud id {(self.cloud_id or '').split(':')[0]}"

    def client_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "request_timeout": self.request_timeout,
            "verify_certs": self.verify_certs,
            # Retries are ours (bounded by time, with backoff, resuming a batch). The transport only moves a
            # request whose connection failed on to another node of the list: a node that is down must not
            # fail a request another node could take (an ingest's last refresh once did just that).
            "max_retries": max(0, len(self.hosts) - 1),
            "retry_on_status": (),
            "retry_on_timeout": False,
        }
        if self.hosts:
            options["hosts"] = self.hosts
        if self.cloud_id:
            options["cloud_id"] = self.cloud_id
        if self.password is not None:
            options["basic_auth"] = (self.username, self.password.get_secret_value())
        if self.api_key is not None:
            options["api_key"] = self.api_key.get_secret_value()
        if self.bearer_token is not None:
            options["bearer_auth"] = self.bearer_token.get_secret_value()
        if self.ca_file is not None:
            options["ca_certs"] = str(self.ca_file)
        if self.fingerprint:
            options["ssl_assert_fingerprint"] = self.fingerprint
        if not self.verify_certs:
            options["ssl_show_warn"] = False  # we warn once ourselves
        return options

    def client(self) -> Elasticsearch:
        from elasticsearch import Elasticsearch
        from elasticsearch.serializer import OrjsonSerializer

        if not self.verify_certs:
            warnings.warn("TLS certificate verification is OFF (--insecure)", stacklevel=2)
        return Elasticsearch(serializer=OrjsonSerializer(), **self.client_options())


def _messages(exc: ValidationError) -> str:
    """pydantic's messages without its noise."""
    return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())


def _env_secret(env: Any, name: str) -> SecretStr | None:
    value = env.get(name)
    return SecretStr(value) if value else None
