#!/usr/bin/env python3
"""Sessions against a real Courier IMAP and POP3 (scripts/capture_debian_courier.sh): logins that work and
fail, unknown accounts, a mailbox read, logouts, and clients that vanish without logging out."""

from __future__ import annotations

import imaplib
import poplib
import socket
import sys

HOST, IMAP_PORT, POP_PORT = "127.0.0.1", 10143, 10110
USER, PASSWORD = "courieruser", "Courier-pw-2026"


def imap(user: str, password: str, select: bool = False) -> None:
    try:
        client = imaplib.IMAP4(HOST, IMAP_PORT)
        client.login(user, password)
        if select:
            client.select("INBOX")
            client.search(None, "ALL")
        client.logout()
    except imaplib.IMAP4.error:
        pass


def pop(user: str, password: str) -> None:
    try:
        client = poplib.POP3(HOST, POP_PORT)
        client.user(user)
        client.pass_(password)
        client.stat()
        client.quit()
    except poplib.error_proto:
        pass


def vanish(port: int) -> None:
    """Connect, read the greeting, drop the connection."""
    with socket.create_connection((HOST, port), timeout=5) as sock:
        sock.recv(512)


def main() -> int:
    imap(USER, PASSWORD, select=True)
    imap(USER, "wrong")
    imap("nosuchuser", "guess")
    imap("admin", "admin")
    pop(USER, PASSWORD)
    pop(USER, "wrong")
    pop("nosuchuser", "guess")
    vanish(IMAP_PORT)
    vanish(POP_PORT)
    for attempt in ("a", "b", "c"):
        imap(USER, attempt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
