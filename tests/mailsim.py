"""A Postfix mail log with its ground truth: every message's queue-ID chain, sender, message-id, client,
SASL user, size, each recipient's final fate, deferral count and parent (for a bounce notification).

Messages are simulated on two hosts over a time window and their lines merged in time order, so
sessions interleave. What the log holds, as Postfix writes it:

- inbound mail through an amavis content filter (re-injected under a new queue ID, `orig_queue_id=`);
- authenticated submissions to several recipients with different fates: sent, bounced (550), deferred
  then sent on a retry, deferred until the queue lifetime expires (then a non-delivery notification);
- qmgr's `from=` again at each retry, as Postfix logs it when a deferred message re-enters the queue;
- local mail from pickup, milter rejects at end of DATA, NOQUEUE rejects (no message), and messages
  still deferred when the log ends (stuck: an incomplete transaction);
- queue-ID reuse (a new message under a queue ID whose message was removed earlier), the same queue ID
  live on both hosts at once, and out-of-order lines (a delivery logged before its `from=`, same second);
- a window that runs over midnight of 31 December, so year-less timestamps roll over into January.

    python3 -m tests.mailsim --messages 20000 > /tmp/mail.log     # log on stdout, no truth
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

LOCAL_DOMAIN = "example.com"
USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
REMOTE = [
    ("gmail.com", "gmail-smtp-in.l.google.com", "142.250.102.27"),
    ("outlook.com", "outlook-com.olc.protection.outlook.com", "52.101.68.18"),
    ("gmx.de", "mx00.emig.gmx.net", "212.227.15.9"),
    ("example.net", "mx.example.net", "203.0.113.50"),
    ("slow.example", "mx.slow.example", "203.0.113.80"),
]
CLIENTS = [
    ("mail-wr1-f54.google.com", "209.85.221.54", "gmail.com"),
    ("mout.gmx.net", "212.227.17.20", "gmx.de"),
    ("mail.partner.example", "192.0.2.44", "partner.example"),
    ("smtp.newsletter.example", "198.51.100.30", "newsletter.example"),
]
DEFERRALS = [
    "connect to {mx}[{ip}]:25: Connection timed out",
    "host {mx}[{ip}] said: 450 4.7.1 <{rcpt}>: Recipient address rejected: Greylisted, try again later "
    "(in reply to RCPT TO command)",
    "host {mx}[{ip}] said: 421 4.7.0 Too many connections, try again later (in reply to end of DATA command)",
]
SASL_DEFERRAL = (
    "SASL authentication failed; cannot authenticate to server smtp.sendgrid.net[167.89.118.52]: no mechanism available"
)


@dataclass
class Truth:
    host: str
    ids: list[str]
    sender: str
    start: datetime
    message_id: str | None = None
    client_ip: str | None = None
    client_domain: str | None = None
    user: str | None = None
    size: int | None = None
    recipients: dict[str, str] = field(default_factory=dict)
    deferrals: int = 0
    parent: str | None = None
    rejected: bool = False
    removed: int = 0  # queue IDs of the chain whose `removed` line is in the log

    @property
    def complete(self) -> bool:
        return self.rejected or self.removed == len(self.ids)

    @property
    def status(self) -> str:
        if self.rejected:
            return "rejected"
        fates = set(self.recipients.values())
        if len(fates) == 1:
            return next(iter(fates))
        return "deferred" if "deferred" in fates else "partial"


@dataclass(order=True)
class Line:
    when: datetime
    seq: int
    text: str = field(compare=False)


class Simulation:
    def __init__(self, seed: int = 7, start: datetime = datetime(2025, 12, 31, 20, 0, tzinfo=UTC),
                 hours: float = 8.0, queue_lifetime: timedelta = timedelta(hours=3)) -> None:  # fmt: skip
        self.rng = random.Random(seed)
        self.start = start
        self.end = start + timedelta(hours=hours)
        self.lifetime = queue_lifetime
        self.lines: list[Line] = []
        self.truth: list[Truth] = []
        self.seq = 0
        self.used: dict[str, set[str]] = {"mx1": set(), "mx2": set()}  # every queue ID issued, per host
        self.last: dict[str, str] = {}  # the latest queue ID issued, per host
        self.retired: list[tuple[str, str, datetime]] = []  # (host, queue ID, free again after)
        self.pids: dict[tuple[str, str], int] = {}

    # ------------------------------------------------------------------ plumbing
    def emit(self, when: datetime, host: str, program: str, text: str, seq: int | None = None) -> None:
        if when >= self.end:
            return
        self.seq += 1
        daemon = program.rsplit("/", 1)[-1]
        pid = self.pids.setdefault((host, daemon), self.rng.randint(1000, 60000))
        stamp = f"{when:%b} {when.day:>2} {when:%H:%M:%S}"
        self.lines.append(Line(when, self.seq if seq is None else seq, f"{stamp} {host} {program}[{pid}]: {text}"))

    def qid(self, host: str, when: datetime) -> str:
        """A queue ID free on `host` from `when`: now and then one whose message was removed earlier (Postfix
        reuses them), or the one the other host issued last (so both hosts have it live at once)."""
        if self.rng.random() < 0.1:
            for i, (h, old, free) in enumerate(self.retired):
                if h == host and free < when:
                    del self.retired[i]
                    return self._issued(host, old)
        other = self.last.get("mx2" if host == "mx1" else "mx1")
        if other is not None and other not in self.used[host] and self.rng.random() < 0.03:
            return self._issued(host, other)
        while True:
            q = "".join(self.rng.choice("0123456789ABCDEF") for _ in range(10))
            if q not in self.used["mx1"] and q not in self.used["mx2"]:
                return self._issued(host, q)

    def _issued(self, host: str, q: str) -> str:
        self.used[host].add(q)
        self.last[host] = q
        return q

    def removed(self, host: str, q: str, when: datetime, truth: Truth) -> None:
        self.emit(when, host, "postfix/qmgr", f"{q}: removed")
        if when < self.end:
            self.retired.append((host, q, when + timedelta(seconds=1)))
            truth.removed += 1

    def later(self, when: datetime, low: float, high: float) -> datetime:
        return when + timedelta(seconds=round(self.rng.uniform(low, high), 3))

    def new_truth(self, host: str, q: str, sender: str, when: datetime, **kw: object) -> Truth:
        truth = Truth(host=host, ids=[q], sender=sender, start=when, **kw)  # type: ignore[arg-type]
        self.truth.append(truth)
        return truth

    @staticmethod
    def delivery(q: str, rcpt: str, relay: str, delay: float, dsn: str, status: str, reply: str) -> str:
        d = max(delay, 0.04)
        return (f"{q}: to=<{rcpt}>, relay={relay}, delay={d:.2f}, delays={d * 0.1:.2f}/0.01/{d * 0.4:.2f}/"
                f"{d * 0.49:.2f}, dsn={dsn}, status={status} ({reply})")  # fmt: skip

    # ------------------------------------------------------------------ scenarios
    def inbound(self, host: str, when: datetime) -> None:
        """Remote client -> amavis (10024) -> re-injected (10025) -> LMTP to the mailbox."""
        client, ip, domain = self.rng.choice(CLIENTS)
        rcpt = f"{self.rng.choice(USERS)}@{LOCAL_DOMAIN}"
        sender = f"{self.rng.choice(['news', 'info', 'j.smith'])}@{domain}"
        size = self.rng.randint(1500, 90000)
        mid = f"{self.rng.getrandbits(48):x}@{domain}"
        self.emit(when, host, "postfix/smtpd", f"connect from {client}[{ip}]")
        t = self.later(when, 0.1, 0.5)
        q1 = self.qid(host, t)
        q2 = self.qid(host, t)
        truth = self.new_truth(host, q1, sender, t, message_id=mid, client_ip=ip, client_domain=client, size=size)
        truth.ids.append(q2)
        self.emit(t, host, "postfix/smtpd", f"{q1}: client={client}[{ip}]")
        self.emit(t, host, "postfix/cleanup", f"{q1}: message-id=<{mid}>")
        t = self.later(t, 0.05, 0.3)
        self.emit(t, host, "postfix/qmgr", f"{q1}: from=<{sender}>, size={size}, nrcpt=1 (queue active)")
        self.emit(
            t, host, "postfix/smtpd", f"disconnect from {client}[{ip}] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5"
        )
        t = self.later(t, 0.3, 2.0)
        self.emit(t, host, "postfix/amavis/smtpd", f"{q2}: client=localhost[127.0.0.1], orig_queue_id={q1}, "
                                                   f"orig_client={client}[{ip}]")  # fmt: skip
        self.emit(t, host, "postfix/cleanup", f"{q2}: message-id=<{mid}>")
        self.emit(t, host, "postfix/qmgr", f"{q2}: from=<{sender}>, size={size + 800}, nrcpt=1 (queue active)")
        reply = f"250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as {q2}"
        self.emit(
            t, host, "postfix/smtp", self.delivery(q1, rcpt, "127.0.0.1[127.0.0.1]:10024", 1.2, "2.0.0", "sent", reply)
        )
        self.removed(host, q1, t, truth)
        t = self.later(t, 0.05, 0.5)
        reply = f"250 2.0.0 <{rcpt}> {self.rng.getrandbits(40):x} Saved"
        self.emit(
            t,
            host,
            "postfix/lmtp",
            self.delivery(q2, rcpt, f"mail.{LOCAL_DOMAIN}[private/dovecot-lmtp]", 0.1, "2.0.0", "sent", reply),
        )
        self.removed(host, q2, t, truth)
        if t < self.end:
            truth.recipients[rcpt] = "sent"

    def submission(self, host: str, when: datetime, smarthost_sasl: bool = False) -> None:
        """An authenticated user sends to several remote recipients, each with its own fate."""
        user = self.rng.choice(USERS)
        sender = f"{user}@{LOCAL_DOMAIN}"
        ip = f"10.0.{self.rng.randint(0, 9)}.{self.rng.randint(2, 250)}"
        client = f"pc{self.rng.randint(1, 99)}.office.{LOCAL_DOMAIN}"
        size = self.rng.randint(800, 400000)
        mid = f"{self.rng.getrandbits(56):x}@{LOCAL_DOMAIN}"
        count = self.rng.choice([1, 1, 2, 3, 4])
        rcpts = []
        for _ in range(count):
            domain, mx, mx_ip = self.rng.choice(REMOTE)
            address = f"{self.rng.choice(['info', 'sales', 'm.rossi', 'kim', 'ops'])}{self.rng.randint(1, 99)}@{domain}"
            if address not in (r[0] for r in rcpts):
                rcpts.append((address, mx, mx_ip))
        fates = {a: self.rng.choices(["sent", "bounced", "retry", "expire", "stuck"], [60, 8, 15, 7, 3])[0]
                 for a, _, _ in rcpts}  # fmt: skip
        if smarthost_sasl:
            fates = dict.fromkeys(fates, "stuck")
        self.emit(when, host, "postfix/submission/smtpd", f"connect from {client}[{ip}]")
        t = self.later(when, 0.2, 1.0)
        q = self.qid(host, t)
        truth = self.new_truth(host, q, sender, t, message_id=mid, client_ip=ip, client_domain=client,
                               user=sender, size=size)  # fmt: skip
        self.emit(t, host, "postfix/submission/smtpd",
                  f"{q}: client={client}[{ip}], sasl_method=PLAIN, sasl_username={sender}")  # fmt: skip
        self.emit(t, host, "postfix/cleanup", f"{q}: message-id=<{mid}>")
        t = self.later(t, 0.05, 0.3)
        envelope = f"{q}: from=<{sender}>, size={size}, nrcpt={len(rcpts)} (queue active)"
        out_of_order = self.rng.random() < 0.1
        # logged after the first delivery lines, in the same second
        self.emit(t, host, "postfix/qmgr", envelope, seq=10**9 + self.seq if out_of_order else None)
        bye = f"disconnect from {client}[{ip}] ehlo=2 starttls=1 auth=1 mail=1 rcpt={len(rcpts)} data=1 quit=1"
        self.emit(self.later(t, 0.1, 0.5), host, "postfix/submission/smtpd", bye)
        pending = {a: (mx, mx_ip) for a, mx, mx_ip in rcpts}
        attempt_at = t
        attempt = 0
        expired_at = when + self.lifetime
        last = t
        while pending:
            attempt += 1
            if attempt > 1:
                attempt_at = attempt_at + timedelta(minutes=self.rng.choice([5, 10, 20, 40]))
                stuck = any(fates[a] == "stuck" for a in pending)  # never expires within the log
                if attempt_at >= self.end or (attempt_at >= expired_at and not stuck):
                    break
                self.emit(attempt_at, host, "postfix/qmgr", envelope)
            for address, (mx, mx_ip) in list(pending.items()):
                fate = fates[address]
                delay = (attempt_at - when).total_seconds() + self.rng.uniform(0.2, 3)
                at = attempt_at if out_of_order and attempt == 1 else self.later(attempt_at, 0.1, 2)
                last = max(last, at)
                relay = f"{mx}[{mx_ip}]:25"
                if fate == "sent" or (fate == "retry" and attempt >= 2):
                    self.emit(at, host, "postfix/smtp", self.delivery(q, address, relay, delay, "2.0.0", "sent",
                                                                     "250 2.0.0 OK queued"))  # fmt: skip
                    if at < self.end:
                        truth.recipients[address] = "sent"
                        del pending[address]
                    continue
                if fate == "bounced":
                    reply = (f"host {relay[:-3]} said: 550 5.1.1 <{address}>: Recipient address rejected: "
                             "User unknown (in reply to RCPT TO command)")  # fmt: skip
                    self.emit(
                        at, host, "postfix/smtp", self.delivery(q, address, relay, delay, "5.1.1", "bounced", reply)
                    )
                    if at < self.end:
                        truth.recipients[address] = "bounced"
                        del pending[address]
                    continue
                if smarthost_sasl:
                    reply, relay = SASL_DEFERRAL, "none"
                else:
                    reply = self.rng.choice(DEFERRALS).format(mx=mx, ip=mx_ip, rcpt=address)
                self.emit(at, host, "postfix/smtp", self.delivery(q, address, relay, delay, "4.4.1", "deferred", reply))
                if at < self.end:
                    truth.deferrals += 1
                    truth.recipients[address] = "deferred"
        if pending and expired_at < self.end and not smarthost_sasl and all(fates[a] == "expire" for a in pending):
            self.emit(expired_at, host, "postfix/qmgr", f"{q}: from=<{sender}>, status=expired, returned to sender")
            for address in pending:
                truth.recipients[address] = "expired"
            pending.clear()
            last = expired_at
        bounced = [a for a, f in truth.recipients.items() if f in ("bounced", "expired")]
        if pending:  # still deferred when the log ends: stuck
            return
        at = last + timedelta(milliseconds=5)
        if bounced:
            self.notification(host, q, sender, at)
            at += timedelta(milliseconds=5)
        self.removed(host, q, at, truth)

    def notification(self, host: str, parent: str, to: str, when: datetime) -> None:
        n = self.qid(host, when)
        mid = f"{when:%Y%m%d%H%M%S}.{n}@mx.{LOCAL_DOMAIN}"
        truth = self.new_truth(host, n, "", when, message_id=mid, size=3100, parent=parent)
        self.emit(when, host, "postfix/cleanup", f"{n}: message-id=<{mid}>")
        self.emit(when, host, "postfix/bounce", f"{parent}: sender non-delivery notification: {n}")
        self.emit(when, host, "postfix/qmgr", f"{n}: from=<>, size=3100, nrcpt=1 (queue active)")
        at = self.later(when, 0.01, 0.2)
        reply = f"250 2.0.0 <{to}> {self.rng.getrandbits(40):x} Saved"
        self.emit(
            at,
            host,
            "postfix/lmtp",
            self.delivery(n, to, f"mail.{LOCAL_DOMAIN}[private/dovecot-lmtp]", 0.05, "2.0.0", "sent", reply),
        )
        self.removed(host, n, at, truth)
        if at < self.end:
            truth.recipients[to] = "sent"

    def local(self, host: str, when: datetime) -> None:
        """Cron mail: pickup -> local delivery."""
        q = self.qid(host, when)
        mid = f"{when:%Y%m%d%H%M%S}.{q}@mx.{LOCAL_DOMAIN}"
        size = self.rng.randint(400, 3000)
        truth = self.new_truth(host, q, "root", when, message_id=mid, size=size)
        self.emit(when, host, "postfix/pickup", f"{q}: uid=0 from=<root>")
        self.emit(when, host, "postfix/cleanup", f"{q}: message-id=<{mid}>")
        self.emit(
            when, host, "postfix/qmgr", f"{q}: from=<root@mx.{LOCAL_DOMAIN}>, size={size}, nrcpt=1 (queue active)"
        )
        at = self.later(when, 0.01, 0.3)
        self.emit(at, host, "postfix/local", self.delivery(q, f"root@mx.{LOCAL_DOMAIN}", "local", 0.05, "2.0.0", "sent",
                                                          "delivered to mailbox"))  # fmt: skip
        self.removed(host, q, at, truth)
        truth.sender = f"root@mx.{LOCAL_DOMAIN}"
        if at < self.end:
            truth.recipients[f"root@mx.{LOCAL_DOMAIN}"] = "sent"

    def milter_reject(self, host: str, when: datetime) -> None:
        client, ip, domain = self.rng.choice(CLIENTS)
        sender, rcpt = f"promo@{domain}", f"{self.rng.choice(USERS)}@{LOCAL_DOMAIN}"
        q = self.qid(host, when)
        truth = self.new_truth(host, q, sender, when, client_ip=ip, client_domain=client, rejected=True)
        self.emit(when, host, "postfix/smtpd", f"{q}: client={client}[{ip}]")
        at = self.later(when, 0.1, 1)
        text = (f"{q}: milter-reject: END-OF-MESSAGE from {client}[{ip}]: 5.7.1 Spam message rejected; "
                f"from=<{sender}> to=<{rcpt}> proto=ESMTP helo=<{client}>")  # fmt: skip
        self.emit(at, host, "postfix/cleanup", text)
        self.retired.append((host, q, at + timedelta(seconds=1)))
        truth.rejected = at < self.end
        truth.recipients[rcpt] = "rejected"

    def noqueue_reject(self, host: str, when: datetime) -> None:
        ip = f"45.95.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}"
        rcpt = f"{self.rng.choice(USERS)}@{LOCAL_DOMAIN}"
        text = (
            f"NOQUEUE: reject: RCPT from unknown[{ip}]: 554 5.7.1 Service unavailable; Client host [{ip}] "
            f"blocked using zen.spamhaus.org; from=<x@spam.example> to=<{rcpt}> proto=ESMTP helo=<User>"
        )
        self.emit(when, host, "postfix/smtpd", text)

    # ------------------------------------------------------------------ run
    def run(self, messages: int) -> Simulation:
        span = (self.end - self.start).total_seconds() * 0.97
        kinds = ["inbound", "submission", "local", "milter", "noqueue"]
        for i in range(messages):
            host = "mx1" if self.rng.random() < 0.7 else "mx2"
            when = self.start + timedelta(seconds=round(span * i / messages + self.rng.uniform(0, 2), 3))
            kind = self.rng.choices(kinds, [35, 45, 8, 4, 8])[0]
            if i == messages // 2:  # one message stuck on a smarthost that wants SASL credentials
                self.submission(host, when, smarthost_sasl=True)
            elif kind == "inbound":
                self.inbound(host, when)
            elif kind == "submission":
                self.submission(host, when)
            elif kind == "local":
                self.local(host, when)
            elif kind == "milter":
                self.milter_reject(host, when)
            else:
                self.noqueue_reject(host, when)
        self.truth = [t for t in self.truth if t.start < self.end]
        self.lines.sort()
        return self

    def text(self) -> str:
        return "".join(line.text + "\n" for line in self.lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sim = Simulation(seed=args.seed, hours=args.hours).run(args.messages)
    sys.stdout.write(sim.text())


if __name__ == "__main__":
    main()
