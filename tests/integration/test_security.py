"""Authentication and TLS against a real Elasticsearch with security on (scripts/es-test-cluster --secure):
certificates verified by default, a private CA or a pinned fingerprint, basic auth and bearer tokens from
the environment or files, a writer-only account, and secrets that never show. (API keys cannot be made on
this distribution: they live in the .security index, whose mapping needs the absent analysis-common
module; tests/elastic/test_connection.py covers how they are passed to the client.)"""

from __future__ import annotations

import hashlib
import json
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import REFERENCE, ROOT, SAMPLES, es_connection
from tests.integration.conftest import SCRIPT

VARIED = SAMPLES / "postfix" / "varied.log"
VARIED_LINES = VARIED.read_bytes().count(b"\n")


def script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args, "--secure"], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def secure() -> Iterator[dict[str, Any]]:
    started = False
    if script("url").returncode != 0:
        started = True
        done = script("start")
        if done.returncode != 0:
            pytest.fail(f"could not start the secure test Elasticsearch:\n{done.stderr}")
    info = json.loads(script("info").stdout)
    info["password"] = Path(info["password_file"]).read_text().strip()
    yield info
    if started:
        script("stop")


@pytest.fixture(scope="module")
def admin(secure: dict[str, Any]) -> Any:
    return es_connection(
        [secure["url"]], username=secure["user"], password_file=Path(secure["password_file"]),
        ca_file=Path(secure["ca_file"]), environ={},
    ).client()  # fmt: skip


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ES_")}
    return subprocess.run(
        [sys.executable, "-m", "shipper", *args], capture_output=True, text=True, cwd=ROOT, env={**clean, **(env or {})}
    )


def as_admin(secure: dict[str, Any], *more: str) -> list[str]:
    return ["--es", secure["url"], "--es-user", secure["user"], "--es-password-file", secure["password_file"], *more]


def test_certificates_are_verified_by_default(secure):
    result = run("setup", *as_admin(secure))
    assert result.returncode == 1
    assert "CERTIFICATE_VERIFY_FAILED" in result.stderr
    assert "hint: the server's certificate is not trusted: give its CA with --ca-file" in result.stderr
    assert "--fingerprint" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert secure["password"] not in result.stderr + result.stdout


def test_a_private_ca_is_trusted_when_given(secure):
    result = run("setup", *as_admin(secure, "--ca-file", secure["ca_file"]))
    assert result.returncode == 0, result.stderr
    check = run("setup", "--check", *as_admin(secure, "--ca-file", secure["ca_file"]))
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_pinned_fingerprint_is_checked(secure):
    parts = urlsplit(secure["url"])
    pem = ssl.get_server_certificate((parts.hostname, parts.port))
    leaf = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    pinned = run(
        "setup", "--check", *as_admin(secure, "--fingerprint", ":".join(leaf[i : i + 2] for i in range(0, 64, 2)))
    )
    assert pinned.returncode == 0, pinned.stderr
    wrong = run("setup", "--check", *as_admin(secure, "--fingerprint", "00" * 32))
    assert wrong.returncode == 1 and "Fingerprints did not match" in wrong.stderr


def test_insecure_says_so(secure):
    result = run("setup", "--check", *as_admin(secure, "--insecure"))
    assert result.returncode == 0, result.stderr
    assert "warning: TLS certificate verification is OFF" in result.stderr


def test_a_wrong_password_is_refused_and_never_echoed(secure, tmp_path):
    wrong = tmp_path / "password"
    wrong.write_text("not-the-password-4711\n")
    result = run("setup", "--es", secure["url"], "--es-user", secure["user"], "--es-password-file", str(wrong),
                 "--ca-file", secure["ca_file"])  # fmt: skip
    assert result.returncode == 1
    assert "401" in result.stderr and "unable to authenticate" in result.stderr
    assert "hint: the credentials were refused" in result.stderr
    assert "4711" not in result.stderr + result.stdout


def test_https_on_a_plain_port_and_a_user_without_password_say_what_to_do(secure, es_url):
    plain = urlsplit(es_url)
    result = run("setup", "--check", "--es", f"https://{plain.hostname}:{plain.port}")
    assert result.returncode == 1 and "hint: the server does not speak TLS on that port: use http://" in result.stderr
    result = run("setup", "--check", "--es", secure["url"], "--es-user", secure["user"], "--ca-file", secure["ca_file"])
    assert result.returncode != 0
    assert result.stderr.strip() == (
        f"error: user '{secure['user']}' has no password: set ES_PASSWORD or give"
        " --es-password-file (output.elasticsearch.password_file in the config)"
    )


def ingest_args(secure: dict[str, Any], namespace: str) -> list[str]:
    return ["ingest", str(VARIED), "--es", secure["url"], "--ca-file", secure["ca_file"], "--namespace", namespace,
            "--json", "--timezone", "UTC", "--reference-date", REFERENCE.isoformat()]  # fmt: skip


def summary_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_writer_only_user_can_ingest(secure, admin, namespace):
    """The writer may only create documents in logs-mail.*: no template reads, no refresh. Ingest still
    works, and says what it could not check."""
    run("setup", *as_admin(secure, "--ca-file", secure["ca_file"]))
    password = Path(secure["writer_password_file"]).read_text().strip()
    result = run(*ingest_args(secure, namespace + "w"), "--es-user", secure["writer"], env={"ES_PASSWORD": password})
    assert summary_of(result)["indexed"] == VARIED_LINES
    assert "not allowed to read index templates" in result.stderr
    assert "not allowed to refresh" in result.stderr
    assert password not in result.stderr + result.stdout
    admin.indices.refresh(index=f"logs-mail.*-{namespace}w")
    assert admin.count(index=f"logs-mail.*-{namespace}w")["count"] == VARIED_LINES
    mapping = next(iter(admin.indices.get_mapping(index=f"logs-mail.postfix-{namespace}w").body.values()))
    assert mapping["mappings"]["properties"]["source"]["properties"]["ip"]["type"] == "ip"  # our template applied


def test_setup_needs_a_user_allowed_to_manage_templates(secure):
    password = Path(secure["writer_password_file"]).read_text().strip()
    result = run("setup", "--es", secure["url"], "--ca-file", secure["ca_file"], "--es-user", secure["writer"],
                 env={"ES_PASSWORD": password})  # fmt: skip
    assert result.returncode == 1
    assert "setup failed: HTTP 403" in result.stderr
    assert password not in result.stderr + result.stdout


def test_a_bearer_token_from_the_environment_or_a_file(secure, admin, namespace):
    token = Path(secure["service_token_file"]).read_text().strip()
    # the fleet-server service account may write logs-* but not mail-transactions-*: lines only
    args = [*ingest_args(secure, namespace + "b"), "--no-transactions"]
    from_file = run(*args, "--es-bearer-token-file", secure["service_token_file"])
    assert summary_of(from_file)["indexed"] == VARIED_LINES
    from_env = run(*args, env={"ES_BEARER_TOKEN": token})
    assert summary_of(from_env)["already_present"] == VARIED_LINES
    for result in (from_file, from_env):
        assert token not in result.stderr + result.stdout
