#!/usr/bin/env python3
"""Clients for scripts/capture_debian_dovecot_auth.sh: IMAP and POP3 logins that succeed, fail, abort and
brute-force from several loopback addresses, and LMTP deliveries. Usage: drive_dovecot.py"""

from __future__ import annotations

import imaplib
import poplib
import smtplib
import socket
import time

HOST = "127.0.0.1"


class IMAP(imaplib.IMAP4):
    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__(HOST, 10143, timeout=60)

    def _create_socket(self, timeout: float | None) -> socket.socket:  # imaplib's hook
        return socket.create_connection((HOST, 10143), timeout or 60, source_address=(self.source, 0))


class POP3(poplib.POP3):
    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__(HOST, 10110, timeout=60)

    def _create_socket(self, timeout: float | None) -> socket.socket:  # poplib's hook
        return socket.create_connection((HOST, 10110), timeout or 60, source_address=(self.source, 0))


def imap_session(source: str, user: str, password: str, read: bool = True) -> None:
    client = IMAP(source)
    try:
        client.login(user, password)
    except imaplib.IMAP4.error:
        client.logout()
        return
    if read:
        client.select("INBOX")
        _, data = client.search(None, "ALL")
        for num in data[0].split():
            client.fetch(num, "(RFC822)")
        if data[0]:
            client.store(b"1", "+FLAGS", "\\Seen")
        client.expunge()
    client.logout()


def pop3_session(source: str, user: str, password: str, delete: bool = False) -> None:
    client = POP3(source)
    try:
        client.user(user)
        client.pass_(password)
    except poplib.error_proto:
        client.quit()
        return
    count, _ = client.stat()
    for n in range(1, count + 1):
        client.retr(n)
        if delete:
            client.dele(n)
    client.quit()


def lmtp_deliver(recipients: list[str], subject: str, msgid: str) -> None:
    """LMTP answers DATA once per accepted recipient (smtplib's sendmail reads one answer)."""
    message = (
        f"From: carol@example.test\r\nTo: {', '.join(recipients)}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{msgid}>\r\n\r\nhello\r\n"
    )
    with smtplib.LMTP(HOST, 10024) as lmtp:
        lmtp.ehlo("mx.example.test")
        lmtp.mail("carol@example.test")
        accepted = [r for r in recipients if lmtp.rcpt(r)[0] == 250]
        if accepted:
            lmtp.data(message.encode())
            for _ in accepted[1:]:
                lmtp.getreply()


def abort_login(source: str, port: int) -> None:
    with socket.create_connection((HOST, port), 15, source_address=(source, 0)) as sock:
        sock.recv(1024)
        time.sleep(0.2)


def main() -> None:
    lmtp_deliver(["alice@example.test"], "first", "1@capture.example.test")
    lmtp_deliver(["alice@example.test", "bob@example.test"], "second", "2@capture.example.test")
    lmtp_deliver(["nosuchuser@example.test"], "nobody home", "3@capture.example.test")
    imap_session("127.0.0.2", "alice@example.test", "alicepw")
    pop3_session("127.0.0.3", "bob@example.test", "bobpw", delete=True)
    imap_session("127.0.0.2", "alice@example.test", "wrong")
    pop3_session("127.0.0.4", "admin", "123456")
    imap_session("127.0.0.5", "sysuser", "wrongpw")  # a system user: PAM says no
    imap_session("127.0.0.5", "sysuser", "syspw", read=False)  # and yes
    abort_login("127.0.0.6", 10143)
    abort_login("127.0.0.6", 10110)
    for user in ("info", "test", "sales", "alice@example.test"):
        imap_session("127.0.0.7", user, "password1")
    time.sleep(3)  # let auth failure delays end before the logs are copied


if __name__ == "__main__":
    main()
