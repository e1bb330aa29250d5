#!/usr/bin/env python3
"""Write a realistic, deterministic Postfix mail log (what a busy MX + submission host logs).

Sessions are simulated end to end: postscreen and smtpd connections, DNSBL and access rejects,
SASL brute force, submissions with remote delivery (sent, greylisted and retried, bounced with a
non-delivery notice), an amavis content-filter hop, LMTP delivery to Dovecot, local cron mail,
queue expiry, anvil/scache statistics and the usual warnings.

    scripts/gen_postfix_log.py --lines 200000 --seed 7 > /tmp/mail.log
    scripts/gen_postfix_log.py --format rfc3339 --lines 500 > /tmp/mail-rfc3339.log
    scripts/gen_postfix_log.py --format postlog --lines 300 > /tmp/postfix.log   # maillog_file
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

DOMAINS = ["example.com", "example.org", "corp.example"]
LOCAL_USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
REMOTE = [
    ("gmail.com", "gmail-smtp-in.l.google.com", "142.250.102.27"),
    ("outlook.com", "outlook-com.olc.protection.outlook.com", "52.101.68.18"),
    ("yahoo.com", "mta5.am0.yahoodns.net", "67.195.204.77"),
    ("gmx.de", "mx00.emig.gmx.net", "212.227.15.9"),
    ("example.net", "mx.example.net", "203.0.113.50"),
    ("slow.example", "mx.slow.example", "203.0.113.80"),
]
SENDERS = [
    ("mail-wr1-f54.google.com", "209.85.221.54", "gmail.com"),
    ("mail-ej1-f41.google.com", "209.85.218.41", "gmail.com"),
    ("mail-db8eur05on2101.outbound.protection.outlook.com", "40.107.20.101", "outlook.com"),
    ("mout.gmx.net", "212.227.17.20", "gmx.de"),
    ("smtp.newsletter.example", "198.51.100.30", "newsletter.example"),
    ("mail.partner.example", "192.0.2.44", "partner.example"),
]
BOTS = ["45.95.147.236", "185.234.219.12", "141.98.10.63", "80.94.95.181", "193.32.162.79", "2001:db8:bad::7"]
RBLS = ["zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org"]


class Log:
    def __init__(self, host: str, fmt: str, start: datetime, rng: random.Random) -> None:
        self.host, self.fmt, self.now, self.rng = host, fmt, start, rng
        self.pids: dict[str, int] = {}
        self.qids: set[str] = set()

    def tick(self, max_ms: int = 900) -> None:
        self.now += timedelta(milliseconds=self.rng.randint(1, max_ms))

    def pid(self, daemon: str) -> int:
        if daemon not in self.pids or self.rng.random() < 0.02:
            self.pids[daemon] = self.rng.randint(1000, 65000)
        return self.pids[daemon]

    def qid(self) -> str:
        while True:
            q = "".join(self.rng.choice("0123456789ABCDEF") for _ in range(10))
            if q not in self.qids:
                self.qids.add(q)
                return q

    def line(self, program: str, text: str) -> str:
        daemon = program.rsplit("/", 1)[-1]
        host = self.host
        if self.fmt == "rfc3339":
            stamp = self.now.isoformat(timespec="microseconds")
        elif self.fmt == "postlog":  # Postfix maillog_file (msg_logger.c): zero-padded day, first host label
            stamp = f"{self.now:%b %d %H:%M:%S}"
            host = host.split(".")[0]
        else:
            stamp = f"{self.now:%b} {self.now.day:>2} {self.now:%H:%M:%S}"
        return f"{stamp} {host} {program}[{self.pid(daemon)}]: {text}"


def session_inbound(log: Log, rng: random.Random) -> Iterator[str]:
    host, ip, domain = rng.choice(SENDERS)
    port = rng.randint(30000, 65000)
    user = rng.choice(LOCAL_USERS)
    rcpt = f"{user}@{DOMAINS[0]}"
    sender = f"{rng.choice(['news', 'info', 'noreply', 'j.smith', 'billing'])}@{domain}"
    yield log.line("postfix/postscreen", f"CONNECT from [{ip}]:{port} to [192.0.2.10]:25")
    log.tick(50)
    yield log.line("postfix/postscreen", f"PASS {'NEW' if rng.random() < 0.1 else 'OLD'} [{ip}]:{port}")
    yield log.line("postfix/smtpd", f"connect from {host}[{ip}]")
    log.tick(200)
    yield log.line(
        "postfix/smtpd",
        f"Anonymous TLS connection established from {host}[{ip}]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
    )
    q1 = log.qid()
    log.tick(300)
    yield log.line("postfix/smtpd", f"{q1}: client={host}[{ip}]")
    yield log.line("postfix/cleanup", f"{q1}: message-id=<{rng.getrandbits(64):x}.{rng.randint(1000, 9999)}@{domain}>")
    size = rng.randint(1500, 250000)
    yield log.line("postfix/qmgr", f"{q1}: from=<{sender}>, size={size}, nrcpt=1 (queue active)")
    log.tick(400)
    yield log.line(
        "postfix/smtpd", f"disconnect from {host}[{ip}] ehlo=1 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=6"
    )
    # amavis content filter hop: smtp → 127.0.0.1:10024, re-injected on 10025 with a new queue ID
    q2 = log.qid()
    log.tick(900)
    yield log.line("postfix/amavis/smtpd", "connect from localhost[127.0.0.1]")
    yield log.line(
        "postfix/amavis/smtpd", f"{q2}: client=localhost[127.0.0.1], orig_queue_id={q1}, orig_client={host}[{ip}]"
    )
    yield log.line("postfix/cleanup", f"{q2}: message-id=<{rng.getrandbits(64):x}@{domain}>")
    yield log.line("postfix/qmgr", f"{q2}: from=<{sender}>, size={size + 900}, nrcpt=1 (queue active)")
    yield log.line(
        "postfix/amavis/smtpd", "disconnect from localhost[127.0.0.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5"
    )
    d = rng.uniform(0.5, 3)
    yield log.line(
        "postfix/smtp",
        f"{q1}: to=<{rcpt}>, relay=127.0.0.1[127.0.0.1]:10024, delay={d:.2f}, delays=0.1/0/0.01/{d - 0.11:.2f}, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as {q2})",
    )
    yield log.line("postfix/qmgr", f"{q1}: removed")
    log.tick(200)
    yield log.line(
        "postfix/lmtp",
        f"{q2}: to=<{rcpt}>, relay=mail.{DOMAINS[0]}[private/dovecot-lmtp], delay=0.08, delays=0.03/0.01/0.01/0.03, dsn=2.0.0, status=sent (250 2.0.0 <{rcpt}> {rng.getrandbits(80):x} Saved)",
    )
    yield log.line("postfix/qmgr", f"{q2}: removed")


def session_reject(log: Log, rng: random.Random) -> Iterator[str]:
    ip = (
        rng.choice(BOTS[:-1])
        if rng.random() < 0.5
        else f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    )
    port = rng.randint(30000, 65000)
    helo = rng.choice(["User", "localhost", "ylmf-pc", "mail.example.com", f"[{ip}]"])
    yield log.line("postfix/postscreen", f"CONNECT from [{ip}]:{port} to [192.0.2.10]:25")
    yield log.line("postfix/postscreen", f"PASS NEW [{ip}]:{port}")
    yield log.line("postfix/smtpd", f"connect from unknown[{ip}]")
    log.tick(300)
    rcpt = f"{rng.choice([*LOCAL_USERS, 'admin', 'info', 'sales', 'webmaster'])}@{rng.choice(DOMAINS)}"
    sender = f"{rng.choice(['promo', 'winner', 'support', 'hr'])}@{rng.choice(['deals.example', 'lottery.example', 'x.example'])}"
    kind = rng.random()
    if kind < 0.4:
        rbl = rng.choice(RBLS)
        text = f"554 5.7.1 Service unavailable; Client host [{ip}] blocked using {rbl}; https://www.spamhaus.org/query/ip/{ip}"
    elif kind < 0.7:
        text = f"550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table"
    elif kind < 0.85:
        text = f"450 4.7.1 <{helo}>: Helo command rejected: Host not found"
    else:
        text = f"554 5.7.1 <{rcpt}>: Relay access denied"
    yield log.line(
        "postfix/smtpd",
        f"NOQUEUE: reject: RCPT from unknown[{ip}]: {text}; from=<{sender}> to=<{rcpt}> proto=ESMTP helo=<{helo}>",
    )
    log.tick(200)
    yield log.line("postfix/smtpd", f"disconnect from unknown[{ip}] ehlo=1 mail=1 rcpt=0/1 rset=1 quit=1 commands=4/5")


def session_bot(log: Log, rng: random.Random) -> Iterator[str]:
    ip = rng.choice(BOTS)
    port = rng.randint(30000, 65000)
    yield log.line("postfix/postscreen", f"CONNECT from [{ip}]:{port} to [192.0.2.10]:25")
    for rbl in rng.sample(RBLS, rng.randint(1, 2)):
        yield log.line(
            "postfix/dnsblog", f"addr {ip} listed by domain {rbl} as 127.0.0.{rng.choice([2, 3, 4, 10, 11])}"
        )
    log.tick(80)
    pick = rng.random()
    if pick < 0.4:
        yield log.line(
            "postfix/postscreen", f"PREGREET 11 after 0.{rng.randint(10, 99)} from [{ip}]:{port}: EHLO User\\r\\n"
        )
    elif pick < 0.6:
        yield log.line(
            "postfix/postscreen", f"COMMAND PIPELINING from [{ip}]:{port} after EHLO: MAIL FROM:<a@b.example>\\r\\n"
        )
    elif pick < 0.7:
        yield log.line("postfix/postscreen", f"NON-SMTP COMMAND from [{ip}]:{port} after CONNECT: GET / HTTP/1.1")
    yield log.line("postfix/postscreen", f"DNSBL rank {rng.randint(2, 6)} for [{ip}]:{port}")
    if rng.random() < 0.3:
        yield log.line(
            "postfix/postscreen",
            f"HANGUP after {rng.uniform(0.1, 9):.2f} from [{ip}]:{port} in tests after SMTP handshake",
        )
    rcpt = f"{rng.choice(LOCAL_USERS)}@{DOMAINS[0]}"
    yield log.line(
        "postfix/postscreen",
        f"NOQUEUE: reject: RCPT from [{ip}]:{port}: 550 5.7.1 Service unavailable; client [{ip}] blocked using {RBLS[0]}; from=<x@spam.example>, to=<{rcpt}>, proto=ESMTP, helo=<User>",
    )
    yield log.line("postfix/postscreen", f"DISCONNECT [{ip}]:{port}")


def session_bruteforce(log: Log, rng: random.Random) -> Iterator[str]:
    ip = rng.choice(BOTS)
    for _ in range(rng.randint(1, 4)):
        yield log.line("postfix/submission/smtpd", f"connect from unknown[{ip}]")
        log.tick(400)
        method = rng.choice(["LOGIN", "PLAIN"])
        reason = "UGFzc3dvcmQ6" if method == "LOGIN" else "authentication failure"
        yield log.line(
            "postfix/submission/smtpd", f"warning: unknown[{ip}]: SASL {method} authentication failed: {reason}"
        )
        yield log.line("postfix/submission/smtpd", f"lost connection after AUTH from unknown[{ip}]")
        yield log.line("postfix/submission/smtpd", f"disconnect from unknown[{ip}] ehlo=1 auth=0/1 commands=1/2")
        log.tick(600)


def session_outbound(log: Log, rng: random.Random) -> Iterator[str]:
    user = rng.choice(LOCAL_USERS)
    ip = f"198.51.100.{rng.randint(2, 250)}"
    host = f"dsl-{ip.replace('.', '-')}.isp.example"
    domain, mx, mxip = rng.choice(REMOTE)
    rcpt = f"{rng.choice(['john', 'mary', 'sales', 'contact', 'nobody'])}@{domain}"
    sender = f"{user}@{DOMAINS[0]}"
    q = log.qid()
    yield log.line("postfix/submission/smtpd", f"connect from {host}[{ip}]")
    yield log.line(
        "postfix/submission/smtpd",
        f"Anonymous TLS connection established from {host}[{ip}]: TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits) key-exchange X25519 server-signature ECDSA (P-256) server-digest SHA256",
    )
    log.tick(500)
    yield log.line("postfix/submission/smtpd", f"{q}: client={host}[{ip}], sasl_method=PLAIN, sasl_username={sender}")
    yield log.line("postfix/cleanup", f"{q}: message-id=<{rng.getrandbits(72):x}@{DOMAINS[0]}>")
    yield log.line("postfix/qmgr", f"{q}: from=<{sender}>, size={rng.randint(900, 4000000)}, nrcpt=1 (queue active)")
    yield log.line(
        "postfix/submission/smtpd",
        f"disconnect from {host}[{ip}] ehlo=2 starttls=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=8",
    )
    log.tick(800)
    if domain == "slow.example" or rng.random() < 0.08:
        yield log.line("postfix/smtp", f"connect to {mx}[{mxip}]:25: Connection timed out")
        yield log.line(
            "postfix/smtp",
            f"{q}: to=<{rcpt}>, relay=none, delay=30, delays=0.1/0.01/30/0, dsn=4.4.1, status=deferred (connect to {mx}[{mxip}]:25: Connection timed out)",
        )
        if rng.random() < 0.5:
            return
        log.tick(900)
        yield log.line("postfix/qmgr", f"{q}: from=<{sender}>, size=4120, nrcpt=1 (queue active)")
    elif rng.random() < 0.1:
        yield log.line(
            "postfix/smtp",
            f"{q}: host {mx}[{mxip}] said: 450 4.2.0 <{rcpt}>: Recipient address rejected: Greylisted, see https://postgrey.schweikert.ch/help/{domain}.html (in reply to RCPT TO command)",
        )
        yield log.line(
            "postfix/smtp",
            f"{q}: to=<{rcpt}>, relay={mx}[{mxip}]:25, delay=1.4, delays=0.1/0/0.8/0.5, dsn=4.2.0, status=deferred (host {mx}[{mxip}] said: 450 4.2.0 <{rcpt}>: Recipient address rejected: Greylisted (in reply to RCPT TO command))",
        )
        log.tick(900)
        yield log.line("postfix/qmgr", f"{q}: from=<{sender}>, size=4120, nrcpt=1 (queue active)")
    yield log.line(
        "postfix/smtp",
        f"Trusted TLS connection established to {mx}[{mxip}]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
    )
    d = rng.uniform(0.3, 4)
    if rng.random() < 0.07:
        yield log.line(
            "postfix/smtp",
            f"{q}: to=<{rcpt}>, relay={mx}[{mxip}]:25, delay={d:.1f}, delays=0.1/0.01/0.3/{d - 0.41:.2f}, dsn=5.1.1, status=bounced (host {mx}[{mxip}] said: 550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown (in reply to RCPT TO command))",
        )
        b = log.qid()
        yield log.line("postfix/cleanup", f"{b}: message-id=<{log.now:%Y%m%d%H%M%S}.{b}@mx1.{DOMAINS[0]}>")
        yield log.line("postfix/bounce", f"{q}: sender non-delivery notification: {b}")
        yield log.line("postfix/qmgr", f"{b}: from=<>, size=6210, nrcpt=1 (queue active)")
        yield log.line("postfix/qmgr", f"{q}: removed")
        yield log.line(
            "postfix/lmtp",
            f"{b}: to=<{sender}>, relay=mail.{DOMAINS[0]}[private/dovecot-lmtp], delay=0.05, delays=0.01/0.01/0.01/0.02, dsn=2.0.0, status=sent (250 2.0.0 <{sender}> {rng.getrandbits(80):x} Saved)",
        )
        yield log.line("postfix/qmgr", f"{b}: removed")
        return
    yield log.line(
        "postfix/smtp",
        f"{q}: to=<{rcpt}>, relay={mx}[{mxip}]:25, delay={d:.1f}, delays=0.1/0.01/0.3/{d - 0.41:.2f}, dsn=2.0.0, status=sent (250 2.0.0 OK  {int(log.now.timestamp())} {rng.getrandbits(40):x}.{rng.randint(1, 999)} - gsmtp)",
    )
    yield log.line("postfix/qmgr", f"{q}: removed")


def session_local(log: Log, rng: random.Random) -> Iterator[str]:
    q = log.qid()
    yield log.line("postfix/pickup", f"{q}: uid=0 from=<root>")
    yield log.line("postfix/cleanup", f"{q}: message-id=<{log.now:%Y%m%d%H%M%S}.{q}@mx1.{DOMAINS[0]}>")
    yield log.line(
        "postfix/qmgr", f"{q}: from=<root@mx1.{DOMAINS[0]}>, size={rng.randint(400, 3000)}, nrcpt=1 (queue active)"
    )
    yield log.line(
        "postfix/local",
        f"{q}: to=<root@mx1.{DOMAINS[0]}>, orig_to=<root>, relay=local, delay=0.04, delays=0.02/0.01/0/0.01, dsn=2.0.0, status=sent (delivered to mailbox)",
    )
    yield log.line("postfix/qmgr", f"{q}: removed")


def session_misc(log: Log, rng: random.Random) -> Iterator[str]:
    ip = rng.choice(BOTS[:-1])
    at = f"{log.now:%b} {log.now.day:>2} {log.now:%H:%M:%S}"
    choices = [
        lambda: [
            log.line(
                "postfix/anvil", f"statistics: max connection rate {rng.randint(1, 40)}/60s for (smtp:{ip}) at {at}"
            ),
            log.line("postfix/anvil", f"statistics: max connection count {rng.randint(1, 9)} for (smtp:{ip}) at {at}"),
            log.line("postfix/anvil", f"statistics: max cache size {rng.randint(1, 50)} at {at}"),
        ],
        lambda: [
            log.line(
                "postfix/smtpd",
                f"warning: hostname {ip.replace('.', '-')}.rev.example does not resolve to address {ip}: Name or service not known",
            )
        ],
        lambda: [
            log.line("postfix/smtpd", f"connect from unknown[{ip}]"),
            log.line("postfix/smtpd", f"lost connection after CONNECT from unknown[{ip}]"),
            log.line("postfix/smtpd", f"disconnect from unknown[{ip}] commands=0/0"),
        ],
        lambda: [
            log.line("postfix/smtpd", f"connect from unknown[{ip}]"),
            log.line("postfix/smtpd", f"improper command pipelining after CONNECT from unknown[{ip}]: EHLO x\\r\\n"),
            log.line("postfix/smtpd", f"too many errors after RCPT from unknown[{ip}]"),
            log.line("postfix/smtpd", f"disconnect from unknown[{ip}] ehlo=1 mail=1 rcpt=0/20 commands=2/22"),
        ],
        lambda: [
            log.line("postfix/scache", f"statistics: start interval {at}"),
            log.line(
                "postfix/scache",
                f"statistics: domain lookup hits={rng.randint(0, 50)} miss={rng.randint(1, 90)} success={rng.randint(0, 60)}%",
            ),
            log.line(
                "postfix/scache",
                f"statistics: max simultaneous domains={rng.randint(1, 5)} addresses={rng.randint(1, 6)} connection={rng.randint(1, 9)}",
            ),
        ],
        lambda: [log.line("postfix/smtpd", f"warning: non-SMTP command from unknown[{ip}]: GET / HTTP/1.1")],
        lambda: [
            log.line(
                "postfix/smtpd",
                f"warning: Connection rate limit exceeded: {rng.randint(31, 90)} from unknown[{ip}] for service smtp",
            )
        ],
        lambda: [log.line("postfix/smtpd", f"timeout after DATA ({rng.randint(100, 9000)} bytes) from unknown[{ip}]")],
        lambda: [
            log.line(
                "postfix/smtpd",
                "warning: TLS library problem: error:0A000126:SSL routines::unexpected eof while reading:../ssl/record/rec_layer_s3.c:650:",
            )
        ],
        lambda: [
            log.line(
                "postfix/postscreen",
                f"cache btree:/var/lib/postfix/postscreen_cache full cleanup: retained={rng.randint(100, 3000)} dropped={rng.randint(0, 300)} entries",
            )
        ],
    ]
    yield from rng.choice(choices)()


def session_expire(log: Log, rng: random.Random) -> Iterator[str]:
    q = log.qid()
    yield log.line(
        "postfix/qmgr", f"{q}: from=<{rng.choice(LOCAL_USERS)}@{DOMAINS[0]}>, status=expired, returned to sender"
    )
    b = log.qid()
    yield log.line("postfix/cleanup", f"{b}: message-id=<{log.now:%Y%m%d%H%M%S}.{b}@mx1.{DOMAINS[0]}>")
    yield log.line("postfix/bounce", f"{q}: sender non-delivery notification: {b}")
    yield log.line("postfix/qmgr", f"{q}: removed")


SESSIONS = [
    (session_inbound, 30), (session_reject, 20), (session_bot, 12), (session_bruteforce, 8),
    (session_outbound, 18), (session_local, 4), (session_misc, 7), (session_expire, 1),
]  # fmt: skip


def generate(lines: int, seed: int, start: datetime, fmt: str, host: str) -> Iterator[str]:
    rng = random.Random(seed)
    log = Log(host, fmt, start, rng)
    funcs, weights = zip(*SESSIONS, strict=True)
    written = 0
    if fmt != "rfc3339":
        yield log.line("postfix/postfix-script", "starting the Postfix mail system")
        yield log.line("postfix/master", "daemon started -- version 3.7.11, configuration /etc/postfix")
        written = 2
    while written < lines:
        log.tick(4000)
        for text in rng.choices(funcs, weights)[0](log, rng):
            if written >= lines:
                return
            yield text
            written += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", default="2025-12-31T21:00:00+01:00", help="ISO time of the first line")
    parser.add_argument("--format", choices=["bsd", "rfc3339", "postlog"], default="bsd")
    parser.add_argument("--host", default="mx1")
    args = parser.parse_args()
    start = datetime.fromisoformat(args.start)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    out = sys.stdout
    for text in generate(args.lines, args.seed, start, args.format, args.host):
        out.write(text + "\n")


if __name__ == "__main__":
    main()
