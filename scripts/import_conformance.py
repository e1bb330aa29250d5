#!/usr/bin/env python3
"""Build conformance sets under tests/conformance/ from public test logs that nobody here wrote.

Each set is `<source>/<file>` beside `<file>-expected.json`, which holds the provenance (project,
repository, path, commit, licence) and the expectations by line number. The sets of a project are
rewritten each time; its repository's commit is read from its git metadata (a bare repository will do).

    python3 scripts/import_conformance.py fail2ban PATH
        fail2ban's filter test logs (fail2ban/tests/files/logs/<name>): every line kept, in order; a
        `# failJSON: {...}` comment before a line says what fail2ban's maintainers expect of it: its `host`
        becomes source.ip (an address) or source.domain (a name), its `user` user.name.
    python3 scripts/import_conformance.py crowdsec PATH
        CrowdSec hub's parser tests (.tests/<test>/): the log of every test whose parsers include one of
        the mail and login parsers; `parser.assert` says what the parser's stage gives each line:
        Meta source_ip -> source.ip, target_user / user / username -> user.name (the `username` of a
        rejected `RCPT <x>` is a recipient: email.to.address).
    python3 scripts/import_conformance.py postfix-grok-patterns PATH
        postfix-grok-patterns' tests (test/*.yaml): one Postfix message each, with the daemon its pattern
        names; a syslog header (`Jan 15 10:00:00 mx postfix/<daemon>[4242]: `) is put in front, the only
        text not theirs. Their results: client -> source.*, relay -> destination.*, queueid ->
        email.local_id, status -> mail.status, postscreen violation, TLS version and cipher.
    python3 scripts/import_conformance.py wazuh PATH
        the Wazuh ruleset's rule tests (tools/rules-testing/tests/<name>.ini): their `log N pass|fail = ...`
        lines, for the matched / generic / unparsed figures (the tests name rules, not fields).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "conformance"

# fail2ban test log -> (our source, file name). The sets are read as streams (no file name to go by),
# except where the format has no syslog program and a user's file has a known name: `path` then says it.
PATHS = {"exim": "/var/log/exim4/mainlog", "exim-spam": "/var/log/exim4/mainlog"}
FAIL2BAN = {
    "sshd": ("sshd", "fail2ban-sshd.log"),
    "pam-generic": ("pam", "fail2ban-pam-generic.log"),
    "dovecot": ("dovecot", "fail2ban-dovecot.log"),
    "sieve": ("cyrus", "fail2ban-sieve.log"),  # Cyrus timsieved, despite the name
    "postfix": ("postfix", "fail2ban-postfix.log"),
    "exim": ("exim", "mainlog-fail2ban-exim"),
    "exim-spam": ("exim", "mainlog-fail2ban-exim-spam"),
    "sendmail-auth": ("sendmail", "fail2ban-sendmail-auth.log"),
    "sendmail-reject": ("sendmail", "fail2ban-sendmail-reject.log"),
    "cyrus-imap": ("cyrus", "fail2ban-cyrus-imap.log"),
    "qmail": ("qmail", "fail2ban-qmail.log"),
    "courier-auth": ("courier", "fail2ban-courier-auth.log"),
}
FAIL2BAN_REPOSITORY = "https://github.com/fail2ban/fail2ban"


def expectation(fail_json: dict[str, object], line: str) -> dict[str, str]:
    """What the line itself names: fail2ban also expects an address on lines that do not carry it (it joins
    them to an earlier line of the same connection); those are left to the correlator, not the parser."""
    expect: dict[str, str] = {}
    host = fail_json.get("host")
    if isinstance(host, str) and host and host in line:
        try:
            expect["source.ip"] = str(ipaddress.ip_address(host.removeprefix("::ffff:")))
        except ValueError:
            if all(part.isdigit() for part in host.split(".")):  # `192.030.0.6`: not an address we accept
                pass
            else:
                expect["source.domain"] = host.lower()
    user = fail_json.get("user")
    # the account a line names as such (`user=X`, `for X`, `user=<X>` ...), not PAM's ruser= (the remote
    # user a client claimed, which fail2ban takes when there is no user=)
    if isinstance(user, str) and user and user in line and f"ruser={user}" not in line:
        expect["user.name"] = user
    return expect


def convert(text: str) -> tuple[list[str], dict[str, dict[str, str]]]:
    lines: list[str] = []
    expected: dict[str, dict[str, str]] = {}
    pending: dict[str, object] | None = None
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            if stripped.startswith("# failJSON:"):
                pending = json.loads(stripped.removeprefix("# failJSON:"))
            continue
        lines.append(raw)
        if pending is not None:
            found = expectation(pending, raw)
            if found:
                expected[str(len(lines))] = found
            pending = None
    return lines, expected


def _git(repo: Path) -> tuple[list[str], str]:
    git = ["git", "-C", str(repo)]
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    return git, commit


def _show(git: list[str], path: str) -> str:
    return subprocess.run([*git, "show", f"HEAD:{path}"], capture_output=True, text=True, check=True).stdout


def _write(source: str, file_name: str, lines: list[str], meta: dict[str, object]) -> None:
    target = OUT / source / file_name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    meta = {"source": source, **meta}
    target.with_name(file_name + "-expected.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    expected = meta.get("expected") or {}
    print(f"{target.relative_to(ROOT)}: {len(lines)} lines, {len(expected)} with expected fields")


def import_fail2ban(repo: Path) -> None:
    git, commit = _git(repo)
    for name, (source, file_name) in FAIL2BAN.items():
        path = f"fail2ban/tests/files/logs/{name}"
        lines, expected = convert(_show(git, path))
        meta: dict[str, object] = {
            "provenance": {
                "project": "fail2ban", "repository": FAIL2BAN_REPOSITORY, "path": path, "commit": commit,
                "licence": "GPL-2.0-or-later (test data, kept verbatim)",
                "expectations": "each line's `# failJSON`, where the line names them: host -> source.ip or"
                " source.domain, user -> user.name",
            },
            "expected": expected,
        }  # fmt: skip
        if name in PATHS:
            meta["path"] = PATHS[name]
        _write(source, file_name, lines, meta)


# CrowdSec hub parser -> our source
CROWDSEC_PARSERS = {
    "sshd-logs": "sshd", "sshd-success-logs": "sshd", "dovecot-logs": "dovecot", "postfix-logs": "postfix",
    "exim-logs": "exim", "amavis-logs": "amavis", "pam-logs": "pam", "zimbra-logs": "zimbra_mailbox",
}  # fmt: skip
CROWDSEC_REPOSITORY = "https://github.com/crowdsecurity/hub"
_ASSERT = re.compile(
    r'^results\["s01-parse"\]\["[\w-]+/(?P<parser>[\w-]+)"\]\[(?P<n>\d+)\]'
    r'\.Evt\.Meta\["(?P<key>[a-z_]+)"\] == "(?P<value>.*)"$'
)
_S01_LENGTH = re.compile(r'^len\(results\["s01-parse"\]\["[\w-]+/(?P<parser>[\w-]+)"\]\) == (?P<n>\d+)$')
CROWDSEC_META = {"source_ip": "source.ip", "target_user": "user.name", "user": "user.name", "username": "user.name"}


def crowdsec_expectations(assertions: str, parser: str, lines: list[str]) -> dict[str, dict[str, str]]:
    """What `parser.assert` says the parser gives each line; its events are the log's lines in order (a test
    whose event count differs from its line count gives no expectations)."""
    length = next(
        (int(m["n"]) for m in map(_S01_LENGTH.match, assertions.splitlines()) if m and m["parser"] == parser), None
    )
    if length != len(lines):
        return {}
    expected: dict[str, dict[str, str]] = {}
    for m in map(_ASSERT.match, assertions.splitlines()):
        if m is None or m["parser"] != parser or m["key"] not in CROWDSEC_META:
            continue
        line = lines[int(m["n"])]
        value = json.loads(f'"{m["value"]}"')
        if not value or value not in line:
            continue  # only what the line itself names
        field = CROWDSEC_META[m["key"]]
        if field == "user.name" and f"RCPT <{value}>" in line:
            field = "email.to.address"  # a rejected recipient (user enumeration) is a recipient, not an account
        expected.setdefault(str(int(m["n"]) + 1), {})[field] = value
    return expected


def import_crowdsec(repo: Path) -> None:
    git, commit = _git(repo)
    tests = _show(git, ".tests/").splitlines()[2:]  # `git show` of a tree: a header, a blank line, the names
    for test in (t.rstrip("/") for t in tests):
        try:
            config = yaml.safe_load(_show(git, f".tests/{test}/config.yaml"))
        except subprocess.CalledProcessError:
            continue
        parsers = [str(p).rsplit("/", 1)[-1].removesuffix(".yaml") for p in config.get("parsers") or [] if p]
        ours = [p for p in parsers if p in CROWDSEC_PARSERS]
        if not ours or not config.get("log_file"):
            continue
        log_path = f".tests/{test}/{config['log_file']}"
        lines = [line for line in _show(git, log_path).splitlines() if line.strip()]
        try:
            assertions = _show(git, f".tests/{test}/parser.assert")
        except subprocess.CalledProcessError:
            assertions = ""
        expected = crowdsec_expectations(assertions, ours[0], lines)
        meta = {
            "provenance": {
                "project": "CrowdSec hub", "repository": CROWDSEC_REPOSITORY, "path": log_path, "commit": commit,
                "licence": "MIT (test data, kept verbatim)",
                "expectations": f"parser.assert of the {ours[0]} parser, where the line names them: Meta source_ip"
                " -> source.ip, target_user / user / username -> user.name (of a rejected RCPT: email.to.address)",
            },
            "expected": expected,
        }  # fmt: skip
        _write(CROWDSEC_PARSERS[ours[0]], f"crowdsec-{test}.log", lines, meta)


PGP_REPOSITORY = "https://github.com/whyscream/postfix-grok-patterns"
# their pattern -> the Postfix daemon whose lines it parses (patterns of fragments are left out)
PGP_DAEMONS = {
    "SMTPD": "smtpd", "POSTSCREEN": "postscreen", "SMTP": "smtp", "ANVIL": "anvil", "POSTSUPER": "postsuper",
    "CLEANUP": "cleanup", "QMGR": "qmgr", "SCACHE": "scache", "PIPE": "pipe", "MASTER": "master",
    "BOUNCE": "bounce", "LOCAL": "local", "DNSBLOG": "dnsblog", "VERIFY": "verify",
    "TRIVIAL_REWRITE": "trivial-rewrite", "TLSPROXY": "tlsproxy", "ERROR": "error", "VIRTUAL": "virtual",
    "TLSMGR": "tlsmgr", "SENDMAIL": "sendmail", "SCRIPT": "postfix-script", "POSTMAP": "postmap",
    "POSTDROP": "postdrop", "PICKUP": "pickup", "LMTP": "lmtp", "DISCARD": "discard",
}  # fmt: skip
PGP_FIELDS = {
    "postfix_client_ip": "source.ip", "postfix_client_hostname": "source.domain", "postfix_client_port": "source.port",
    "postfix_relay_ip": "destination.ip", "postfix_relay_hostname": "destination.domain",
    "postfix_relay_port": "destination.port", "postfix_queueid": "email.local_id", "postfix_status": "mail.status",
    "postfix_postscreen_violation": "mail.postscreen.violation", "postfix_tls_version": "tls.version",
    "postfix_tls_cipher": "tls.cipher",
}  # fmt: skip
PGP_HEADER = "Jan 15 10:00:00 mx postfix/{daemon}[4242]: "


def pgp_expectation(results: dict[str, object], line: str) -> dict[str, str]:
    expect: dict[str, str] = {}
    for theirs, ours in PGP_FIELDS.items():
        value = results.get(theirs)
        if value is None or str(value) in ("", "unknown", "none", "NOQUEUE") or str(value) not in line:
            continue  # NOQUEUE says there is no queue ID: no email.local_id
        expect[ours] = str(value)
    if expect.get("tls.version", "").startswith("TLSv"):
        expect["tls.version"] = expect["tls.version"].removeprefix("TLSv")  # ECS: tls.version 1.2, protocol tls
    return expect


def import_postfix_grok_patterns(repo: Path) -> None:
    git, commit = _git(repo)
    names = subprocess.run([*git, "ls-tree", "--name-only", "HEAD", "test/"], capture_output=True, text=True,
                           check=True).stdout.split()  # fmt: skip
    lines: list[str] = []
    expected: dict[str, dict[str, str]] = {}
    for name in sorted(n for n in names if n.endswith(".yaml")):
        test = yaml.safe_load(_show(git, name))
        m = re.fullmatch(r"\^?%\{POSTFIX_(\w+)\}\$?", str(test.get("pattern", "")))
        message = test.get("data", test.get("logline"))
        if m is None or m[1] not in PGP_DAEMONS or not isinstance(message, str):
            continue
        # YAML's "\\r\\n" became the characters; Postfix logs them escaped, as the two-character texts
        message = message.replace("\r", "\\r").replace("\n", "\\n")
        lines.append(PGP_HEADER.format(daemon=PGP_DAEMONS[m[1]]) + message)
        found = pgp_expectation(test.get("results") or {}, message)
        if found:
            expected[str(len(lines))] = found
    meta = {
        "provenance": {
            "project": "postfix-grok-patterns", "repository": PGP_REPOSITORY, "path": "test/*.yaml", "commit": commit,
            "licence": "BSD-3-Clause (test data; messages verbatim, a syslog header put in front)",
            "expectations": "each test's results, where the message names them: client -> source.*, relay ->"
            " destination.*, queueid -> email.local_id, status -> mail.status, postscreen violation, TLS version"
            " and cipher",
        },
        "expected": expected,
    }  # fmt: skip
    _write("postfix", "postfix-grok-patterns.log", lines, meta)


WAZUH_REPOSITORY = "https://github.com/wazuh/wazuh-ruleset"
# Wazuh's rule tests -> our source
WAZUH_TESTS = {
    "dovecot": "dovecot", "postfix": "postfix", "sshd": "sshd", "macos-sshd": "sshd", "pam": "pam",
    "exim": "exim", "su": "su", "sudo": "sudo",
}  # fmt: skip
_WAZUH_LOG = re.compile(r"^log \d+ (?:pass|fail) = (?P<line>.+)$")


def import_wazuh(repo: Path) -> None:
    git, commit = _git(repo)
    for test, source in WAZUH_TESTS.items():
        path = f"tools/rules-testing/tests/{test}.ini"
        lines = [m["line"] for m in map(_WAZUH_LOG.match, _show(git, path).splitlines()) if m]
        meta = {
            "provenance": {
                "project": "Wazuh ruleset", "repository": WAZUH_REPOSITORY, "path": path, "commit": commit,
                "licence": "GPL-2.0 (test data, kept verbatim)",
                "expectations": "none: the tests name the rule a line must raise, not its fields; the lines count"
                " for matched / generic / unparsed",
            },
            "expected": {},
        }  # fmt: skip
        _write(source, f"wazuh-{test}.log", lines, meta)


IMPORTERS = {
    "fail2ban": import_fail2ban, "crowdsec": import_crowdsec, "postfix-grok-patterns": import_postfix_grok_patterns,
    "wazuh": import_wazuh,
}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("project", choices=sorted(IMPORTERS))
    parser.add_argument("repository", type=Path, help="a checkout (or bare repository) of the project")
    args = parser.parse_args()
    IMPORTERS[args.project](args.repository)
    return 0


if __name__ == "__main__":
    sys.exit(main())
