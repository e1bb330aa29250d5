#!/usr/bin/env python3
"""Clients that misbehave the way spam bots do, for scripts/capture_debian_postfix.sh: talking before
the greeting (postscreen PREGREET), pipelining without permission, an HTTP request on port 25, a lost
connection mid-session and too many errors. Usage: smtp_misbehave.py HOST PORT SRC1 SRC2 SRC3 SRC4"""

from __future__ import annotations

import socket
import sys
import time


def connect(host: str, port: int, source: str) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=15, source_address=(source, 0))
    sock.settimeout(15)
    return sock


def drain(sock: socket.socket, seconds: float = 1.0) -> bytes:
    sock.settimeout(seconds)
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except (TimeoutError, OSError):
        pass
    return data


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    pregreet, pipeliner, http, chatty = sys.argv[3:7]
    with connect(host, port, pregreet) as sock:  # talks before the 220 greeting
        sock.sendall(b"EHLO bot.example\r\n")
        drain(sock, 4)
    with connect(host, port, http) as sock:  # not SMTP at all
        drain(sock, 3)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: mx\r\n\r\n")
        drain(sock, 2)
    with connect(host, port, pipeliner) as sock:  # pipelines before EHLO completes
        drain(sock, 3)
        sock.sendall(b"EHLO pipe.example\r\nMAIL FROM:<a@pipe.example>\r\nRCPT TO:<alice@example.test>\r\n")
        drain(sock, 2)
    time.sleep(1)
    with connect(host, port, chatty) as sock:  # a known client: errors, then drops the line mid-session
        drain(sock, 3)
        sock.sendall(b"EHLO chatty.example\r\n")
        drain(sock, 1)
        for _ in range(25):
            sock.sendall(b"XYZZY\r\n")
        drain(sock, 2)
    with connect(host, port, chatty) as sock:
        drain(sock, 3)
        sock.sendall(b"EHLO chatty.example\r\nMAIL FROM:<x@chatty.example>\r\n")
        drain(sock, 1)


if __name__ == "__main__":
    main()
