#!/usr/bin/env python3
"""A scripted upstream MX for the Postfix capture scripts: 250 for most recipients, 450 greylisting for
greylist@, 550 unknown user for nobody@. Listens on a loopback address (127.0.0.1 unless given).

    fake_upstream_mx.py PORT [ADDRESS] [--unique-ids]

With --unique-ids every accepted message gets its own queue ID, as a real remote MTA gives (the original
capture's upstream numbered them per connection)."""

from __future__ import annotations

import itertools
import socketserver
import sys

UNIQUE = "--unique-ids" in sys.argv
_numbers = itertools.count(1)


class Session(socketserver.StreamRequestHandler):
    def reply(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 upstream.test ESMTP fake")
        queued = 0
        while line := self.rfile.readline():
            command = line.decode(errors="replace").strip()
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.wfile.write(b"250-upstream.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            elif verb == "HELO" or verb in ("MAIL", "RSET", "NOOP"):
                self.reply("250 2.0.0 OK")
            elif verb == "RCPT":
                if "greylist@" in command:
                    self.reply("450 4.2.0 <greylist@upstream.test>: Recipient address rejected: Greylisted, try later")
                elif "nobody@" in command:
                    self.reply("550 5.1.1 <nobody@upstream.test>: Recipient address rejected: User unknown")
                else:
                    self.reply("250 2.1.5 OK")
            elif verb == "DATA":
                self.reply("354 go ahead")
                while (data := self.rfile.readline()) and data.rstrip(b"\r\n") != b".":
                    pass
                queued = next(_numbers) if UNIQUE else queued + 1
                self.reply(f"250 2.0.0 Ok: queued as 4F{queued:03d}A1B2C3")
            elif verb == "QUIT":
                self.reply("221 2.0.0 bye")
                return
            else:
                self.reply("502 5.5.2 unrecognized command")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    address = args[1] if len(args) > 1 else "127.0.0.1"
    if not address.startswith("127."):
        sys.exit("fake_upstream_mx: loopback addresses only")
    with Server((address, int(args[0])), Session) as server:
        server.serve_forever()
