#!/usr/bin/env python3
"""Build conformance sets under tests/conformance/ from public test logs that nobody here wrote.

From fail2ban's filter test logs (fail2ban/tests/files/logs/<name>): every log line is kept, in order; a
`# failJSON: {...}` comment before a line says what fail2ban's maintainers expect of it. Its `host` (the
remote address or name) becomes the expected `source.ip` (an address) or `source.domain` (a name), its
`user` the expected `user.name`. Each set is `<source>/<file>.log` beside `<file>.log-expected.json`,
which holds the provenance (project, repository, path, commit, licence) and the expectations by line.

    python3 scripts/import_conformance.py /path/to/a/fail2ban/checkout

The repository's commit is read from its git metadata; the sets are rewritten each time.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import subprocess
import sys
from pathlib import Path

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("fail2ban", type=Path, help="a checkout (or bare repository) of fail2ban")
    args = parser.parse_args()
    git = ["git", "-C", str(args.fail2ban)]
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    for name, (source, file_name) in FAIL2BAN.items():
        path = f"fail2ban/tests/files/logs/{name}"
        text = subprocess.run([*git, "show", f"HEAD:{path}"], capture_output=True, text=True, check=True).stdout
        lines, expected = convert(text)
        target = OUT / source / file_name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
        meta = {
            "source": source,
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
        target.with_name(file_name + "-expected.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        print(f"{target.relative_to(ROOT)}: {len(lines)} lines, {len(expected)} with expected fields")
    return 0


if __name__ == "__main__":
    sys.exit(main())
