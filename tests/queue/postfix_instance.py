"""A throw-away Postfix instance (Debian's postfix, `postfix -c DIR`) on loopback whose mail cannot leave:
the relayhost refuses connections, one domain goes to a smarthost that demands SASL, one to an LMTP port
nobody listens on, and one to a peer that accepts the connection and never speaks (mail stays active).
Needs root and the postfix package; `.ci/run` installs it. Used by tests/queue and to capture the saved
outputs under tests/queue/data/."""

from __future__ import annotations

import os
import shutil
import socket
import socketserver
import subprocess
import threading
import time
from pathlib import Path

MASTER_CF = "/usr/share/postfix/master.cf.dist"  # the package's own (/etc/postfix/ may be unconfigured)
SASL_PORT = 2526  # the smarthost that wants AUTH
SILENT_PORT = 2527  # accepts, never greets
LMTP_PORT = 7025  # Zimbra's LMTP port, closed


class _SaslSmarthost(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.wfile.write(b"220 smarthost.test ESMTP\r\n")
        while line := self.rfile.readline():
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-smarthost.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")
            elif verb == b"AUTH":  # wrong credentials: Postfix defers (smtp_sasl_auth_soft_bounce)
                self.wfile.write(b"535 5.7.8 Error: authentication failed\r\n")
            elif verb == b"MAIL":
                self.wfile.write(b"530 5.7.0 Authentication required\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


class _Silent(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        time.sleep(600)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class PostfixInstance:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.conf = root / "conf"
        self.maillog = root / "maillog"
        self.servers: list[_Server] = []

    def start(self) -> None:
        for sub in ("conf", "spool", "data"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        shutil.chown(self.root / "data", "postfix")
        shutil.copy(MASTER_CF, self.conf / "master.cf")
        (self.conf / "transport").write_text(
            f"sasl.test smtp:[127.0.0.1]:{SASL_PORT}\n"
            f"mailbox.test lmtp:inet:127.0.0.1:{LMTP_PORT}\n"
            f"silent.test smtp:[127.0.0.1]:{SILENT_PORT}\n"
        )
        (self.conf / "sasl_passwd").write_text(f"[127.0.0.1]:{SASL_PORT} relayuser:stale-password\n")
        (self.conf / "main.cf").write_text(
            "compatibility_level = 3.6\n"
            f"mta_configectory = {self.conf}\n"
            f"queue_directory = {self.root / 'spool'}\n"
            f"data_directory = {self.root / 'data'}\n"
            "myhostname = queue-test.example.test\nmydomain = example.test\nmyorigin = example.test\n"
            "mydestination =\ninet_interfaces = loopback-only\ninet_protocols = ipv4\n"
            "mynetworks = 127.0.0.0/8\nrelayhost = [127.0.0.1]:1\n"
            f"transport_maps = texthash:{self.conf / 'transport'}\n"
            f"maillog_file = {self.maillog}\nmaillog_file_prefixes = {self.root}\n"
            "syslog_name = postfix-qtest\nmaster_service_disable = inet\n"
            "smtp_connect_timeout = 5s\nsmtp_helo_timeout = 300s\n"
            f"smtp_sasl_auth_enable = yes\nsmtp_sasl_password_maps = texthash:{self.conf / 'sasl_passwd'}\n"
            "smtp_sasl_security_options = noanonymous\n"
            "minimal_backoff_time = 1h\nmaximal_backoff_time = 2h\nqueue_run_delay = 1h\n"
        )
        for port, handler in ((SASL_PORT, _SaslSmarthost), (SILENT_PORT, _Silent)):
            server = _Server(("127.0.0.1", port), handler)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self.servers.append(server)
        started = self.postfix("start")
        if started.returncode != 0:
            log = self.maillog.read_text()[-1500:] if self.maillog.exists() else ""
            raise RuntimeError(f"the test Postfix did not start: {started.stderr.strip()} {log}")

    def postfix(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["postfix", "-c", str(self.conf), *args], capture_output=True, text=True, check=False)

    def submit(self, sender: str, recipients: list[str], subject: str) -> None:
        body = f"From: {sender}\nSubject: {subject}\n\nhello\n"
        subprocess.run(["sendmail", "-C", str(self.conf), "-f", sender, *recipients], input=body, text=True,
                       check=True)  # fmt: skip

    def queue_ids(self) -> set[str]:
        import json

        out = subprocess.run(["postqueue", "-c", str(self.conf), "-j"], capture_output=True, text=True, check=True)
        return {json.loads(line)["queue_id"] for line in out.stdout.splitlines() if line.strip()}

    def wait_settled(self, count: int, timeout: float = 60) -> None:
        """Until `count` messages are queued and each has been tried (or is being tried)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.maillog.read_text() if self.maillog.exists() else ""
            tried = text.count("status=deferred") + text.count("(queue active)")
            if len(self.queue_ids()) >= count and tried >= count:
                return
            time.sleep(0.5)
        raise TimeoutError(f"the test Postfix did not settle: {self.maillog.read_text()[-2000:]}")

    def stop(self) -> None:
        self.postfix("stop")
        for server in self.servers:
            server.shutdown()
            server.server_close()


def available() -> str | None:
    """Why a real Postfix cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (postfix -c)"
    if not shutil.which("postfix") or not Path(MASTER_CF).exists():
        return "Debian's postfix is not installed"
    for port in (SASL_PORT, SILENT_PORT):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return f"port {port} is taken"
    return None
