"""`shipper setup --kibana` against a local HTTP server that checks each request the way Kibana's endpoints
would (it is not Kibana: no Kibana runs here): the status call, the saved-objects import (POST, `kbn-xsrf`,
the credentials, multipart with a field `file` holding valid NDJSON whose references resolve), and the
alerting API (a rule created once, updated with PUT after, only updatable fields in an update)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from shipper.kibana.install import UPDATABLE
from tests.conftest import ROOT


class FakeKibana(BaseHTTPRequestHandler):
    version = "8.15.0"
    # shared by the handler's instances (one per request); reset by the fixture
    rules: ClassVar[dict[str, dict[str, Any]]] = {}
    imports: ClassVar[list[list[dict[str, Any]]]] = []
    refuse: str | None = None  # an object id the import refuses
    problems: ClassVar[list[str]] = []
    paths: ClassVar[list[str]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def authorized(self) -> bool:
        if self.headers.get("Authorization") != "ApiKey test-key":
            self.reply(401, {"statusCode": 401, "message": "[security_exception] missing authentication"})
            return False
        return True

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def do_GET(self) -> None:
        self.paths.append(self.path)
        if self.authorized() and self.path == "/api/status":
            self.reply(200, {"version": {"number": self.version}})

    def do_POST(self) -> None:
        self.paths.append(self.path)
        if not self.authorized():
            return
        if not self.headers.get("kbn-xsrf"):
            self.reply(400, {"message": "Request must contain a kbn-xsrf header."})
            return
        path = self.path.split("/s/", 1)[-1].split("/", 1)[-1] if self.path.startswith("/s/") else self.path[1:]
        if path == "api/saved_objects/_import?overwrite=true":
            self.import_objects()
        elif path.startswith("api/alerting/rule/"):
            rule_id, body = path.rsplit("/", 1)[1], json.loads(self.body())
            for key in ("name", "rule_type_id", "consumer", "schedule", "params", "actions"):
                if key not in body:
                    self.problems.append(f"rule {rule_id}: no {key}")
            if rule_id in self.rules:
                self.reply(409, {"message": f"rule {rule_id} already exists"})
                return
            self.rules[rule_id] = body
            self.reply(200, {"id": rule_id, **body})
        else:
            self.reply(404, {"message": "Not Found"})

    def do_PUT(self) -> None:
        self.paths.append(self.path)
        if not self.authorized():
            return
        rule_id, body = self.path.rsplit("/", 1)[1], json.loads(self.body())
        extra = set(body) - set(UPDATABLE)
        if extra or rule_id not in self.rules:
            self.reply(400, {"message": f"cannot update {rule_id}: {sorted(extra)}"})
            return
        self.rules[rule_id].update(body)
        self.reply(200, {"id": rule_id})

    def import_objects(self) -> None:
        content_type = self.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/form-data; boundary="):
            self.reply(415, {"message": "Unsupported Media Type"})
            return
        message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + self.body())
        parts = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
        if "file" not in parts:
            self.reply(400, {"message": "[request body.file]: expected value of type [Stream]"})
            return
        objects = [json.loads(line) for line in parts["file"].get_payload(decode=True).splitlines()]
        known = {(o["type"], o["id"]) for o in objects}
        for o in objects:
            for ref in o["references"]:
                if (ref["type"], ref["id"]) not in known:
                    self.problems.append(f"{o['id']}: unresolved reference {ref}")
        self.imports.append(objects)
        refused = [o for o in objects if o["id"] == self.refuse]
        errors = [{"id": o["id"], "type": o["type"], "meta": {"title": o["attributes"].get("title")},
                   "error": {"type": "unknown"}} for o in refused]  # fmt: skip
        self.reply(200, {"success": not errors, "successCount": len(objects) - len(errors), "errors": errors})


@pytest.fixture
def kibana():
    FakeKibana.rules, FakeKibana.imports, FakeKibana.problems, FakeKibana.paths = {}, [], [], []
    FakeKibana.version, FakeKibana.refuse = "8.15.0", None
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeKibana)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def setup(*args: str, key: str = "test-key") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ES_", "KIBANA_"))} | {"KIBANA_API_KEY": key}
    return subprocess.run([sys.executable, "-m", "shipper", "setup", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)  # fmt: skip


def test_import_then_rules_created_then_updated_on_a_second_run(kibana):
    first = setup("--kibana", kibana, "--kibana-space", "mail")
    assert first.returncode == 0, first.stderr
    assert "21 saved object(s) imported or updated; rules created: 8, updated: 0" in first.stdout
    second = setup("--kibana", kibana, "--kibana-space", "mail")
    assert second.returncode == 0 and "rules created: 0, updated: 8" in second.stdout, second.stderr
    assert (
        "  rule created: shipper-brute-force" in first.stdout and "  rule updated: shipper-brute-force" in second.stdout
    )
    assert FakeKibana.problems == []
    assert all(p.startswith("/s/mail/") for p in FakeKibana.paths if p != "/api/status")
    assert all(rule["enabled"] is False and rule["actions"] == [] for rule in FakeKibana.rules.values())
    assert {o["type"] for o in FakeKibana.imports[0]} == {"index-pattern", "search", "dashboard"}


def test_refusals_are_one_line_naming_what_failed(kibana):
    denied = setup("--kibana", kibana, key="wrong")
    assert denied.returncode == 1 and len(denied.stderr.strip().splitlines()) == 1
    assert denied.stderr.startswith("error: Kibana status: HTTP 401 (the credentials were refused")
    FakeKibana.version = "8.7.1"
    old = setup("--kibana", kibana)
    assert old.returncode == 1 and "Kibana 8.7.1 is older than 8.8.0" in old.stderr
    FakeKibana.version, FakeKibana.refuse = "9.1.0", "shipper-failed-logins"
    refused = setup("--kibana", kibana)
    assert refused.returncode == 1
    assert "1 object(s) refused, first search shipper-failed-logins (Mail: failed logins" in refused.stderr


def test_export_writes_what_would_be_sent_and_contacts_nothing(tmp_path):
    done = setup("--export", str(tmp_path / "out"), "--kibana", "http://127.0.0.1:9")
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "shipper-saved-objects.ndjson" in names and "rule-shipper-brute-force.json" in names
    assert (tmp_path / "out" / "shipper-saved-objects.ndjson").read_bytes() == (
        ROOT / "kibana_dashboards" / "shipper-saved-objects.ndjson"
    ).read_bytes()
