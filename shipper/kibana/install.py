"""Install the saved objects and rules into a Kibana: `POST /s/<space>/api/saved_objects/_import?overwrite=true`
(multipart, field `file`, header `kbn-xsrf`), then each rule through the alerting API (`POST
/api/alerting/rule/<id>`, or `PUT` when it exists: ids are stable, so a second run updates). Credentials
from the environment or files (an API key, or a user and password), TLS verified (a CA file may be given).
Every failure is one `KibanaError` line naming what failed. Tested against a local HTTP server that checks
each request as Kibana's endpoints would; never against a live Kibana."""

from __future__ import annotations

import base64
import secrets
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import urllib3

from shipper.elastic.connection import redact
from shipper.kibana.rules import Rule, rule_body

MIN_VERSION = (8, 8, 0)  # the export format the objects are written in (objects.CORE_MIGRATION_VERSION)
# PUT takes only these fields of a rule (its type, consumer and enabled state are kept)
UPDATABLE = ("name", "tags", "schedule", "params", "actions")


class KibanaError(ValueError):
    """One line for the user: what failed, and why."""


@dataclass(frozen=True)
class KibanaSettings:
    url: str
    space: str = "default"
    username: str | None = None
    password: str | None = None
    api_key: str | None = None
    ca_file: Path | None = None
    timeout: float = 30.0

    def headers(self) -> dict[str, str]:
        out = {"kbn-xsrf": "shipper", "Accept": "application/json"}
        if self.api_key:
            out["Authorization"] = f"ApiKey {self.api_key}"
        elif self.username:
            token = base64.b64encode(f"{self.username}:{self.password or ''}".encode()).decode()
            out["Authorization"] = f"Basic {token}"
        return out

    def base(self) -> str:
        root = self.url.rstrip("/")
        return root if self.space == "default" else f"{root}/s/{self.space}"


@dataclass
class Installed:
    objects: int
    rules_created: list[str]
    rules_updated: list[str]


def _pool(settings: KibanaSettings) -> urllib3.PoolManager:
    if settings.url.startswith("https://"):
        context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
        return urllib3.PoolManager(ssl_context=context, timeout=settings.timeout, retries=False)
    return urllib3.PoolManager(timeout=settings.timeout, retries=False)


def _request(pool: urllib3.PoolManager, settings: KibanaSettings, method: str, url: str, what: str,
             body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:  # fmt: skip
    try:
        response = pool.request(method, url, body=body, headers={**settings.headers(), **(headers or {})})
    except urllib3.exceptions.HTTPError as exc:
        raise KibanaError(f"{what}: cannot reach Kibana at {redact(settings.url)}: {exc}") from None
    try:
        data = orjson.loads(response.data) if response.data else {}
    except orjson.JSONDecodeError:
        data = {"message": response.data[:200].decode(errors="replace")}
    if response.status in (401, 403):
        hint = "the credentials were refused" if response.status == 401 else "the user lacks a Kibana privilege"
        raise KibanaError(f"{what}: HTTP {response.status} ({hint}: KIBANA_API_KEY, or KIBANA_USERNAME and"
                          f" KIBANA_PASSWORD): {str(data.get('message', ''))[:200]}")  # fmt: skip
    return response.status, data


def check_version(pool: urllib3.PoolManager, settings: KibanaSettings) -> str:
    status, data = _request(pool, settings, "GET", f"{settings.url.rstrip('/')}/api/status", "Kibana status")
    number = str(((data.get("version") or {}).get("number")) or "")
    if status != 200 or not number:
        raise KibanaError(f"Kibana status: HTTP {status}: not a Kibana at {redact(settings.url)}?")
    parts = tuple(int(p) for p in number.split("-")[0].split(".")[:3] if p.isdigit())
    if parts < MIN_VERSION:
        raise KibanaError(f"Kibana {number} is older than 8.8.0, the saved-object format shipper writes")
    return number


def _multipart(ndjson: bytes) -> tuple[bytes, str]:
    boundary = "shipper-" + secrets.token_hex(12)
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="shipper-saved-objects.ndjson"'
            "\r\nContent-Type: application/ndjson\r\n\r\n").encode()  # fmt: skip
    return head + ndjson + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def install(settings: KibanaSettings, ndjson: bytes, rules: list[Rule]) -> Installed:
    pool = _pool(settings)
    check_version(pool, settings)
    body, content_type = _multipart(ndjson)
    status, data = _request(pool, settings, "POST", f"{settings.base()}/api/saved_objects/_import?overwrite=true",
                            "saved objects import", body, {"Content-Type": content_type})  # fmt: skip
    if status != 200:
        raise KibanaError(f"saved objects import: HTTP {status}: {str(data.get('message', data))[:300]}")
    refused = data.get("errors") or []
    if refused or not data.get("success", False):
        first = refused[0] if refused else {}
        name = f"{first.get('type')} {first.get('id')} ({(first.get('meta') or {}).get('title', '')})"
        why = (first.get("error") or {}).get("type", "refused")
        raise KibanaError(f"saved objects import: {len(refused)} object(s) refused, first {name}: {why}")
    imported = int(data.get("successCount", 0))
    created, updated = [], []
    for rule in rules:
        full = rule_body(rule)
        url = f"{settings.base()}/api/alerting/rule/{rule.id}"
        status, data = _request(pool, settings, "POST", url, f"rule {rule.id}", orjson.dumps(full),
                                {"Content-Type": "application/json"})  # fmt: skip
        if status == 409:  # it exists: update what may be updated
            changes = {k: full[k] for k in UPDATABLE}
            status, data = _request(pool, settings, "PUT", url, f"rule {rule.id}", orjson.dumps(changes),
                                    {"Content-Type": "application/json"})  # fmt: skip
            if status != 200:
                raise KibanaError(f"rule {rule.id}: update refused: HTTP {status}: {str(data.get('message'))[:300]}")
            updated.append(rule.id)
        elif status == 200:
            created.append(rule.id)
        else:
            raise KibanaError(f"rule {rule.id}: refused: HTTP {status}: {str(data.get('message'))[:300]}")
    return Installed(imported, created, updated)


def export(directory: Path, ndjson: bytes, rules: list[Rule]) -> list[Path]:
    """The exact bodies `install` would send, as files: the NDJSON, one JSON per rule."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / "shipper-saved-objects.ndjson"]
    written[0].write_bytes(ndjson)
    for rule in rules:
        path = directory / f"rule-{rule.id}.json"
        path.write_bytes(orjson.dumps(rule_body(rule), option=orjson.OPT_INDENT_2))
        written.append(path)
    return written
