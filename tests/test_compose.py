"""docker-compose.yml, validated by the Compose specification's parser (the compose-spec package), after the
interpolation `docker compose` does with .env.example's values; no container runtime runs here, so the
stack itself was never brought up."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import yaml
from compose_spec import PyCompose

from tests.conftest import ROOT

VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def env_example() -> dict[str, str]:
    out = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            out[name] = value or f"changeme-{name.lower()}"
    return out


def interpolated() -> str:
    env = env_example()
    return VARIABLE.sub(lambda m: env.get(m[1]) or m[2] or "", (ROOT / "docker-compose.yml").read_text())


def test_the_compose_file_is_valid_compose_with_every_variable_in_env_example():
    text = (ROOT / "docker-compose.yml").read_text()
    needed = {m[1] for m in VARIABLE.finditer(text) if m[2] is None}
    assert needed <= set(env_example()), needed - set(env_example())
    compose = PyCompose.from_yaml(interpolated())  # raises on anything the specification refuses
    assert set(compose.service_names()) == {"setup", "es01", "kibana", "shipper-setup", "shipper"}


def test_the_stack_is_secured_healthy_local_and_shipper_reads_the_logs_read_only():
    services = yaml.safe_load(interpolated())["services"]
    es, kibana = services["es01"], services["kibana"]
    assert es["environment"]["xpack.security.enabled"] == "true" and "healthcheck" in es
    assert kibana["environment"]["XPACK_ENCRYPTEDSAVEDOBJECTS_ENCRYPTIONKEY"] and "healthcheck" in kibana
    assert all(p.startswith("127.0.0.1:") for s in services.values() for p in s.get("ports", []))
    shipper = services["shipper"]
    assert "/var/log:/var/log/host:ro" in shipper["volumes"] and shipper["build"] == "."
    assert any(v.startswith("shipperdata:") for v in shipper["volumes"])  # the registry survives
    command = services["shipper-setup"]["command"]
    assert command[0] == "setup" and "--es" in command and "--kibana" in command
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "USER shipper" in dockerfile and 'ENTRYPOINT ["shipper"]' in dockerfile


def test_the_containers_shipper_config_is_valid():
    env = {k: v for k, v in os.environ.items() if not k.startswith("ES_")} | {"ES_USERNAME": "e", "ES_PASSWORD": "p"}
    done = subprocess.run([sys.executable, "-m", "shipper", "check-config", "-c", "examples/compose-shipper.yml"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "https://es01:9200" in done.stdout and "/var/log/host/mail.log*" in done.stdout
