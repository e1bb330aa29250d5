"""Join the lines of one message into a transaction, streaming, by host and queue ID.

What each line means for a message comes from its pack (`correlation.roles`: the role of each
`event.action`), so the same machinery serves every MTA whose pack declares it. A transaction:

- opens at the first line of a queue ID not currently open (a queue ID reused after `removed` opens a
  new transaction: Postfix recycles IDs);
- gathers the client (address, name, SASL user), message-id, envelope sender, size, and each recipient's
  latest attempt (status, dsn, relay, delay, response), counting deferrals and their reasons;
- follows a content filter: a delivery to a local relay (`local_relays`) answered `queued as NEWID` is a
  hop, and NEWID joins the same transaction (as does a queue ID whose smtpd line names this one as its
  XFORWARD `orig_queue_id`); a bounce notification's new queue ID is linked to its parent;
- closes when every queue ID of the chain was `removed` (or a cleanup/milter reject or discard ended
  it), and is then emitted complete; one not seen for `ttl` seconds of log time is emitted incomplete,
  and so are those still open when the input ends. Memory holds only open transactions.

Lines arriving slightly out of order (a delivery logged before `from=`) are fine: fields fill in
whatever order they come, and a transaction closes only when its removal is seen.
"""

from __future__ import annotations

import hashlib
import heapq
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from functools import cache, lru_cache
from typing import Any

from shipper.core.event import child
from shipper.core.timefmt import parse_iso
from shipper.parse.packs import CorrelationSpec, Pack

# deliverable / undeliverable: the fate of an address verification probe (Postfix's verify(8)); a probe is
# not mail, so it is never counted as sent or bounced
HELD = "on hold"  # mail.reason.category of a message kept out of delivery until released


def held_hint(release: str | None) -> str:
    """What to tell about a message on hold (Postfix's hold queue, Exim's frozen ones): the MTA will not
    retry it, and the command that lets it go."""
    return "the MTA does not try to deliver it until it is released" + (f": {release}" if release else "")


FINAL = {"sent", "bounced", "expired", "rejected", "discarded", "forwarded", "deliverable", "undeliverable"}
SUCCESS = {"sent", "deliverable"}


@dataclass
class Recipient:
    address: str
    status: str = "deferred"
    dsn: str | None = None
    relay: str | None = None
    delay: float | None = None
    response: str | None = None
    orig_to: str | None = None

    def doc(self) -> dict[str, Any]:
        out = {"address": self.address, "status": self.status, "dsn": self.dsn, "relay": self.relay,
               "delay": self.delay, "response": self.response, "orig_to": self.orig_to}  # fmt: skip
        return {k: v for k, v in out.items() if v is not None}


@dataclass
class Transaction:
    host: str
    instance: str
    dataset: str
    ids: list[str]
    start: str
    end: str
    removed: set[str] = field(default_factory=set)
    message_id: str | None = None
    sender: str | None = None
    size: int | None = None
    nrcpt: int | None = None
    client_ip: str | None = None
    client_domain: str | None = None
    user: str | None = None
    recipients: dict[str, Recipient] = field(default_factory=dict)
    deferrals: int = 0
    deferral_reasons: list[str] = field(default_factory=list)
    parent: str | None = None
    ended_by: str | None = None  # rejected / discarded (never reached the queue manager), deleted (by an admin)
    expired: bool = False
    reason: tuple[str, str | None] | None = None  # category and hint of the latest failure
    first_seen: str = ""  # the first line's time: part of the _id, which must not move when `start` does
    held: str | None = None  # on hold (the pack's word: held, frozen) until released
    held_since: str | None = None
    held_by: str | None = None  # who or what: `postfix/postsuper`, a check's or milter's reason, Exim's word
    release: str | None = None  # the command that lets it go

    def __post_init__(self) -> None:
        self.first_seen = self.first_seen or self.start

    @property
    def complete(self) -> bool:
        return self.ended_by is not None or set(self.ids) <= self.removed

    def status(self) -> str:
        if self.ended_by:
            return self.ended_by
        if self.held and not self.complete:
            return self.held
        fates = {r.status for r in self.recipients.values()}
        if not fates:
            return "expired" if self.expired else "queued" if not self.complete else "removed"
        if len(fates) == 1:
            return next(iter(fates))
        return "deferred" if "deferred" in fates and not self.complete else "partial"

    def release_command(self, queue_id: str | None = None) -> str | None:
        """The command that releases it (of its last queue ID, or of `queue_id`), when its pack names one."""
        return self.release.format(id=queue_id or self.ids[-1]) if self.release else None

    def diagnosis(self) -> tuple[str, str | None] | None:
        """(mail.reason.category, hint): on hold, the command that releases it; else the latest failure's,
        unless the message succeeded."""
        if self.held and not self.complete:
            return HELD, held_hint(self.release_command())
        if self.reason is not None and self.status() not in SUCCESS:
            return self.reason
        return None

    def doc_id(self) -> str:
        """Stable across re-runs of the same logs: host, instance, first queue ID and when it appeared."""
        key = f"{self.host}\0{self.instance}\0{self.ids[0]}\0{self.first_seen}".encode()
        return hashlib.blake2b(key, digest_size=16).hexdigest()

    def doc(self) -> dict[str, Any]:
        status = self.status()
        doc: dict[str, Any] = {
            "@timestamp": self.start,
            "event": {"start": self.start, "end": self.end, "duration": _nanoseconds(self.start, self.end),
                      "dataset": self.dataset,
                      "outcome": "success" if status in SUCCESS else "failure" if self.complete else "unknown"},
            "host": {"hostname": self.host},
            "email": {"local_id": list(self.ids), "to": {"address": list(self.recipients)}},
            "mail": {"instance": self.instance, "status": status, "complete": self.complete,
                     "deferrals": self.deferrals, "recipients": [r.doc() for r in self.recipients.values()]},
        }  # fmt: skip
        if self.deferral_reasons:
            doc["mail"]["deferral_reasons"] = list(self.deferral_reasons)
        if self.message_id is not None:
            doc["email"]["message_id"] = self.message_id
        if self.sender is not None:
            doc["email"]["from"] = {"address": [self.sender]}
        if self.size is not None:
            doc["mail"]["size"] = self.size
        if self.nrcpt is not None:
            doc["mail"]["nrcpt"] = self.nrcpt
        if self.parent is not None:
            doc["mail"]["parent_local_id"] = self.parent
        if self.held and not self.complete:
            doc["mail"]["hold"] = {"since": self.held_since, "by": self.held_by}
        diagnosis = self.diagnosis()
        if diagnosis is not None:
            doc["mail"]["reason"] = {"category": diagnosis[0], **({"hint": diagnosis[1]} if diagnosis[1] else {})}
        source = {k: v for k, v in (("ip", self.client_ip), ("domain", self.client_domain)) if v}
        if source:
            doc["source"] = source
        if self.user:
            doc["user"] = {"name": self.user}
        if not self.complete:
            doc["tags"] = ["incomplete"]
        return doc


def _nanoseconds(start: str, end: str) -> int:
    return int((parse_iso(end) - parse_iso(start)).total_seconds() * 1_000_000_000)


@lru_cache(maxsize=4096)  # lines come in time order: most share a recent second
def _epoch(stamp: str) -> float:
    return parse_iso(stamp).timestamp()


@cache
def _path(dotted: str) -> tuple[str, ...]:
    return tuple(dotted.split("."))


def _get(event: dict[str, Any], dotted: str) -> Any:
    node: Any = event
    for part in _path(dotted):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


DEFAULT_TTL = 6 * 86400.0
DEFAULT_MAX_OPEN = 1_000_000


class Correlator:
    """Memory holds only open transactions, at most `max_open` of them: past that, or past `ttl` seconds of
    log time without a line, the least recently active is emitted incomplete (`evicted` counts them). Each
    costs O(log n): a heap of (last activity, transaction), whose outdated entries are skipped when they
    surface and dropped whenever they outnumber the live ones (SMTP probes that never finish a message
    open a transaction each, so a flood of them must not make every line slower)."""

    def __init__(self, packs: tuple[Pack, ...], ttl: float = DEFAULT_TTL, max_open: int = DEFAULT_MAX_OPEN) -> None:
        self.specs: dict[str, CorrelationSpec] = {p.dataset: p.correlation for p in packs if p.correlation}
        self.ttl = ttl
        self.max_open = max_open
        self.open: dict[tuple[str, str, str], Transaction] = {}  # (host, instance, queue id) -> transaction
        self.live: dict[int, Transaction] = {}  # id(tx) -> tx: each open transaction once
        self.by_activity: list[tuple[float, int, Transaction]] = []  # (last line's epoch, sequence, tx)
        self.sequence = 0
        self.evicted = 0
        self.latest = ""
        self.instances: set[tuple[str, str]] = set()  # (host, MTA instance) seen, for `_hop`
        self.deliveries: dict[tuple[str, Any], tuple[str, Any]] = {}  # (host, delivery number) -> (queue ID, rcpt)
        self.notices: dict[tuple[str, Any], str] = {}  # (host, notification key) -> the bounced message
        self.current: Transaction | None = None  # the transaction of the last event fed, for `enrich`
        self.current_role: str | None = None

    def feed(self, event: dict[str, Any]) -> list[Transaction]:
        """Take one parsed event; return the transactions it completed (or evicted)."""
        self.current = self.current_role = None
        meta = event.get("event")  # the hot path: plain lookups rather than _get
        if not isinstance(meta, dict):
            return []
        spec = self.specs.get(meta.get("dataset") or "")
        if spec is None:
            return []
        role = spec.roles.get(meta.get("action") or "")
        qid = _first(_get(event, spec.key))
        if spec.delivery_key is not None and role in ("delivery", "delivery-start"):
            qid = self._delivery_of(event, spec.delivery_key, role, qid)
        stamp = event.get("@timestamp")
        if role is None or not isinstance(qid, str) or not isinstance(stamp, str):
            return []
        if stamp > self.latest:
            self.latest = stamp
        host = (event.get("host") or {}).get("hostname") or ""
        if role == "hop":  # another program's word on an MTA's message (a content filter's queued_as)
            self._hop(host, qid, _get(event, "mail.queued_as"), stamp)
            return []
        instance = (event.get("mail") or {}).get("instance") or ""
        self.instances.add((host, instance))
        if role == "bounce" and spec.notification_key is not None:
            self._notice(host, _get(event, spec.notification_key), qid)
        if role == "bounce" and (host, instance, qid) not in self.open:  # its message already ended
            self._notification(host, instance, qid, _get(event, "mail.bounce.queue_id"), stamp, meta["dataset"])
            return []
        key = (host, instance, qid)
        tx = self.open.get(key)
        if tx is None:
            parent = _get(event, "mail.orig_queue_id")  # re-injected after a filter, XFORWARD names the original
            tx = self.open.get((host, instance, parent)) if isinstance(parent, str) else None
            if tx is not None:
                self._link(tx, key)
            else:
                tx = self._new(host, instance, meta["dataset"], qid, stamp)
        self._advance(tx, stamp)
        tx.start = min(tx.start, stamp)
        self.current, self.current_role = tx, role
        done = self._apply(tx, role, event, spec, key)
        # the heap's top is its oldest entry: when even that is within the ttl and the cap holds, nothing is due
        heap, epoch = self.by_activity, _epoch(stamp)
        if heap and (heap[0][0] < epoch - self.ttl or len(self.live) > self.max_open):
            return done + self.evict(epoch)
        return done

    def _new(self, host: str, instance: str, dataset: str, qid: str, stamp: str) -> Transaction:
        tx = Transaction(host, instance, dataset, [qid], stamp, stamp)
        self.open[(host, instance, qid)] = tx
        self.live[id(tx)] = tx
        self._touch(tx)
        return tx

    def _advance(self, tx: Transaction, stamp: str) -> None:
        if stamp > tx.end:
            tx.end = stamp
            self._touch(tx)

    def _touch(self, tx: Transaction) -> None:
        """`tx.end` moved: its place by activity moves with it (the old entry is left to be skipped)."""
        self.sequence += 1
        heapq.heappush(self.by_activity, (_epoch(tx.end), self.sequence, tx))
        if len(self.by_activity) > 2 * len(self.live) + 1024:  # mostly outdated entries: rebuild, O(1) amortized
            self.by_activity = [(_epoch(t.end), i, t) for i, t in enumerate(self.live.values())]
            heapq.heapify(self.by_activity)

    def _link(self, tx: Transaction, key: tuple[str, str, str]) -> None:
        """`key`'s queue ID joins `tx`'s chain; a transaction it already had is merged in."""
        other = self.open.get(key)
        if other is not None and other is not tx:
            _merge(tx, other)
            self.live.pop(id(other), None)
            self._touch(tx)
            for qid in other.ids:
                if self.open.get((key[0], key[1], qid)) is other:
                    self.open[(key[0], key[1], qid)] = tx
        if key[2] not in tx.ids:
            tx.ids.append(key[2])
        self.open[key] = tx

    def join(self, event: dict[str, Any]) -> list[Transaction]:
        """`feed`, then give a delivery, expiry or bounce line what its message is known by (`enrich`): what
        ingest, run and their test oracle do with every line."""
        done = self.feed(event)
        if self.current is not None and self.current_role in ENRICHED_ROLES:
            enrich(event, self.current)
        return done

    def _delivery_of(self, event: dict[str, Any], delivery_key: str, role: str, qid: Any) -> Any:
        """qmail: `starting delivery N: msg M to remote R` says whose delivery N is; `delivery N: success`
        gets M and R from it (and the line event gains them too)."""
        number = _get(event, delivery_key)
        host = (event.get("host") or {}).get("hostname") or ""
        if number is None:
            return qid
        if role == "delivery-start":
            if isinstance(qid, str):
                self.deliveries[(host, number)] = (qid, _first(_get(event, "email.to.address")))
                if len(self.deliveries) > 100_000:  # bounded: a delivery's result follows its start closely
                    self.deliveries.pop(next(iter(self.deliveries)))
            return qid
        found = self.deliveries.pop((host, number), None)
        if found is None:
            return qid
        email = event.setdefault("email", {})
        email["local_id"] = found[0]
        if found[1] is not None and "to" not in email:
            email["to"] = {"address": [found[1]]}
        return found[0]

    def _notification(self, host: str, instance: str, parent: str, child: Any, stamp: str, dataset: str) -> None:
        """A bounce notification `child` about message `parent` (its first lines may already be in)."""
        if not isinstance(child, str):
            return
        notification = self.open.get((host, instance, child))
        if notification is None:
            notification = self._new(host, instance, dataset, child, stamp)
        notification.parent = parent

    def _notice(self, host: str, value: Any, parent: str) -> None:
        """A bounce of `parent` whose notification will carry `value` (qmail's qp) on its envelope line."""
        if value is None:
            return
        if len(self.notices) >= 10_000:  # notifications that never arrived: forget the oldest
            del self.notices[next(iter(self.notices))]
        self.notices[(host, value)] = parent

    def _hop(self, host: str, qid: str, queued_as: Any, stamp: str) -> None:
        if not isinstance(queued_as, str):
            return
        for h, instance in self.instances:
            tx = self.open.get((h, instance, qid)) if h == host else None
            if tx is not None:
                self._advance(tx, stamp)
                self._link(tx, (host, instance, queued_as))
                return

    def _apply(self, tx: Transaction, role: str, event: dict[str, Any], spec: CorrelationSpec,
               key: tuple[str, str, str]) -> list[Transaction]:  # fmt: skip
        if role == "client":
            _client_if_unknown(tx, event)
            _sender_if_unknown(tx, event)
        elif role == "header":
            tx.message_id = tx.message_id or _get(event, "email.message_id")
        elif role == "envelope":
            _client_if_unknown(tx, event)  # MTAs that log one arrival line (Exim's <=, Kerio's Recv:)
            tx.message_id = tx.message_id or _get(event, "email.message_id")
            sender = _first(_get(event, "email.from.address"))
            if sender is not None and (tx.sender is None or key[2] == tx.ids[0]):
                tx.sender = sender
            tx.size = _get(event, "mail.size") if tx.size is None else tx.size
            tx.nrcpt = _get(event, "mail.nrcpt") if tx.nrcpt is None else tx.nrcpt
            listed = [a for a in _get(event, "email.to.address") or [] if a]
            if tx.nrcpt is None and listed:  # an envelope line naming its recipients (Kerio's Recv:)
                tx.nrcpt = len(listed)
            parent = _get(event, "mail.bounce.parent_id")  # a notification naming its message (Exim's R=)
            if parent is None and spec.notification_key is not None:
                parent = self.notices.pop((tx.host, _get(event, spec.notification_key)), None)
            if isinstance(parent, str) and tx.parent is None:
                tx.parent = parent
        elif role == "delivery":
            self._delivery(tx, event, spec)
            final = sum(r.status in FINAL for r in tx.recipients.values())
            if spec.close_when_final and tx.nrcpt and final >= tx.nrcpt:
                tx.removed.update(tx.ids)  # an MTA that logs no removal: every recipient has its fate
        elif role == "expired":
            tx.expired = True
            for recipient in tx.recipients.values():
                if recipient.status == "deferred":
                    recipient.status = "expired"
        elif role == "bounce":
            child = _get(event, "mail.bounce.queue_id")
            self._notification(key[0], key[1], tx.ids[0], child, event["@timestamp"], tx.dataset)
        elif role == "hold":
            _hold(tx, spec, event["@timestamp"], _get(event, "mail.text") or _get(event, "process.name"))
        elif role == "release":
            tx.held = tx.held_since = tx.held_by = None
        elif role == "deleted":
            tx.removed.update(tx.ids)
            tx.ended_by = "deleted"
        elif role == "rejected":
            _sender_if_unknown(tx, event)
            action = _get(event, "mail.reject.action") or _get(event, "mail.milter.action")
            if action == "hold":
                _hold(tx, spec, event["@timestamp"], _held_by_check(event))
            if action in ("reject", "discard"):
                tx.ended_by = "rejected" if action == "reject" else "discarded"
                for address in _get(event, "email.to.address") or []:
                    tx.recipients.setdefault(address, Recipient(address)).status = tx.ended_by
        elif role == "smtp-reject":
            if _get(event, "mail.reject.action") == "hold":
                _hold(tx, spec, event["@timestamp"], _held_by_check(event))
            self._smtp_reject(tx, event)
        elif role == "removed":
            tx.removed.add(key[2])
        if tx.complete:
            return self._close(tx)
        return []

    @staticmethod
    def _smtp_reject(tx: Transaction, event: dict[str, Any]) -> None:
        """A refusal in the SMTP dialogue of a message that has a queue ID (a recipient was accepted before):
        at RCPT the refused recipient is part of the message, rejected, and the message goes on (its status
        becomes partial once the others are delivered); at DATA or END-OF-MESSAGE the whole message is refused."""
        if _get(event, "mail.reject.action") != "reject":
            return  # defer, reject_warning, ...: nothing final
        addresses = [a for a in _get(event, "email.to.address") or [] if isinstance(a, str) and a]
        if _get(event, "mail.reject.stage") not in ("RCPT", "RCPT TO"):
            _sender_if_unknown(tx, event)
            tx.ended_by = "rejected"
        for address in addresses:
            recipient = tx.recipients.setdefault(address, Recipient(address))
            recipient.status = "rejected"
            recipient.response = _get(event, "mail.reject.reason") or recipient.response

    def _delivery(self, tx: Transaction, event: dict[str, Any], spec: CorrelationSpec) -> None:
        """One delivery line: a hop through a content filter, or the fate of each recipient it names."""
        listed = _get(event, "email.to.address")
        addresses = [a for a in (listed if isinstance(listed, list) else [listed]) if isinstance(a, str)]
        if not addresses:
            return
        mail = child(event, "mail")  # read once: every line of a message's fate passes here
        status = mail.get("status") or "deferred"
        relay = mail.get("relay") or ""
        response = mail.get("response")
        queued_as = mail.get("queued_as")
        to_filter = status == "sent" and _is_local(relay, spec.local_relays)
        discarded = to_filter and re.search(spec.discard_reply, response or "") is not None
        if to_filter and not discarded and isinstance(queued_as, str):  # goes on under its new queue ID
            self._link(tx, (tx.host, tx.instance, queued_as))
            return
        # local(8) resent it (.forward, an alias to elsewhere): a new message, linked as a bounce is to its
        # notification; for this message the recipient's fate is `forwarded`
        forwarded = status == "sent" and isinstance(queued_as, str) and (response or "").startswith("forwarded as")
        if forwarded:
            self._notification(tx.host, tx.instance, tx.ids[0], queued_as, event["@timestamp"], tx.dataset)
        reason = child(mail, "reason")
        category = reason.get("category")
        dsn, delay, orig_to = mail.get("dsn"), mail.get("delay"), mail.get("orig_to")
        for address in addresses:
            recipient = tx.recipients.setdefault(address, Recipient(address))
            recipient.status = status
            if discarded:
                recipient.status = "discarded"  # the content filter kept it (spam, virus, banned)
            elif forwarded:
                recipient.status = "forwarded"
            recipient.dsn = dsn
            recipient.relay = relay or None
            recipient.delay = delay
            recipient.response = response
            recipient.orig_to = orig_to or recipient.orig_to
            if status not in SUCCESS and isinstance(category, str):
                tx.reason = (category, reason.get("hint"))
            if status == "deferred":
                tx.deferrals += 1
                if response and response not in tx.deferral_reasons and len(tx.deferral_reasons) < 20:
                    tx.deferral_reasons.append(response)

    def _close(self, tx: Transaction) -> list[Transaction]:
        for qid in tx.ids:
            if self.open.get((tx.host, tx.instance, qid)) is tx:
                del self.open[(tx.host, tx.instance, qid)]
        self.live.pop(id(tx), None)
        return [tx]

    def evict(self, now: float) -> list[Transaction]:
        """Transactions not seen for `ttl` seconds of log time before `now` (the line being read), then the
        least recently active past `max_open`: each found at the top of the heap. Measured from the line
        being read, not the latest ever seen: inputs given out of time order (`ingest samples/`, last year's
        rotation after this week's) must not give up every message of the older file at its first line."""
        out: list[Transaction] = []
        heap, cutoff = self.by_activity, now - self.ttl
        while heap:
            epoch, _, tx = heap[0]
            if self.live.get(id(tx)) is not tx or _epoch(tx.end) != epoch:
                heapq.heappop(heap)  # closed, merged, or active again since: an outdated entry
            elif epoch < cutoff or len(self.live) > self.max_open:
                heapq.heappop(heap)
                out += self._close(tx)
                self.evicted += 1
            else:
                break
        return out

    def snapshot(self) -> dict[str, Any]:
        """The open transactions, to carry them over a restart (`restore`)."""
        unique = self.live.values()
        return {"latest": self.latest, "transactions": [_tx_state(tx) for tx in unique]}

    def restore(self, state: dict[str, Any]) -> int:
        """Take back what `snapshot` gave; the number of transactions restored."""
        self.latest = max(self.latest, state.get("latest") or "")
        count = 0
        for item in state.get("transactions") or []:
            tx = _tx_from_state(item)
            for qid in tx.ids:
                self.open[(tx.host, tx.instance, qid)] = tx
            self.live[id(tx)] = tx
            self._touch(tx)
            count += 1
        return count

    def finish(self) -> Iterator[Transaction]:
        """The input ended: everything still open, oldest first (incomplete: in flight or cut off)."""
        unique = list(self.live.values())
        self.open.clear()
        self.live.clear()
        self.by_activity.clear()
        yield from sorted(unique, key=lambda t: t.start)


def _hold(tx: Transaction, spec: CorrelationSpec, stamp: str, by: Any) -> None:
    if tx.held is not None:  # said again while held (Exim's `Message is frozen` at each queue run)
        return
    tx.held, tx.held_since, tx.held_by = spec.held_status, stamp, str(by) if by else "unknown"
    tx.release = spec.release_command


def _held_by_check(event: dict[str, Any]) -> str:
    """What a check's or milter's HOLD says: `header check: <reason>`, `milter: <reason>`."""
    what = "milter" if _get(event, "mail.milter.action") else _get(event, "mail.check.type") or "access"
    text = _get(event, "mail.reject.reason") or _get(event, "mail.check.content") or "HOLD action"
    return f"{what}{'' if what == 'milter' else ' check'}: {text}"


def _client_if_unknown(tx: Transaction, event: dict[str, Any]) -> None:
    source = child(event, "source")
    tx.client_ip = tx.client_ip or source.get("ip")
    tx.client_domain = tx.client_domain or source.get("domain")
    tx.user = tx.user or child(event, "user").get("name")


def _sender_if_unknown(tx: Transaction, event: dict[str, Any]) -> None:
    """A line that names the sender before (or instead of) the queue manager's `from=`."""
    sender = _first(_get(event, "email.from.address"))
    if tx.sender is None and sender is not None:
        tx.sender = sender


def _merge(into: Transaction, other: Transaction) -> None:
    """A transaction opened for a queue ID that turns out to continue `into`'s message."""
    into.start, into.end = min(into.start, other.start), max(into.end, other.end)
    into.removed |= other.removed
    for qid in other.ids:
        if qid not in into.ids:
            into.ids.append(qid)
    for address, recipient in other.recipients.items():
        into.recipients[address] = recipient
    into.deferrals += other.deferrals
    into.deferral_reasons += [r for r in other.deferral_reasons if r not in into.deferral_reasons][:20]
    for name in ("message_id", "sender", "size", "nrcpt", "user", "reason", "held", "held_since", "held_by", "release"):
        if getattr(into, name) is None:
            setattr(into, name, getattr(other, name))
    if into.client_ip is None or into.client_ip in ("127.0.0.1", "::1"):
        into.client_ip = other.client_ip or into.client_ip
        into.client_domain = other.client_domain or into.client_domain


def _tx_state(tx: Transaction) -> dict[str, Any]:
    state = {f.name: getattr(tx, f.name) for f in fields(tx)}
    state["removed"] = sorted(tx.removed)
    state["recipients"] = [vars(r) for r in tx.recipients.values()]
    state["reason"] = list(tx.reason) if tx.reason else None
    return state


def _tx_from_state(state: dict[str, Any]) -> Transaction:
    state = dict(state)
    recipients = {r["address"]: Recipient(**r) for r in state.pop("recipients")}
    removed = set(state.pop("removed"))
    reason = state.pop("reason")
    return Transaction(**state, recipients=recipients, removed=removed, reason=tuple(reason) if reason else None)


ENRICHED_ROLES = {"delivery", "expired", "bounce", "removed"}
# Every field joining a line to its message can add to the line's event (`enrich`, and the message and
# recipient a qmail delivery number stands for, `_delivery_of`): a question that reads none of them has the
# same answer without the join (`shipper grep --count`). tests/enrich/test_correlate.py holds it to that.
JOINED_FIELDS = frozenset({"email.from.address", "email.message_id", "source.ip", "source.domain", "user.name",
                           "mail.size", "email.local_id", "email.to.address"})  # fmt: skip


def enrich(event: dict[str, Any], tx: Transaction) -> None:
    """Give a delivery, expiry or bounce line what its message is known by, so a KQL query on line events
    (`email.from.address: "x" and mail.status: bounced`) needs no join. Fields the line has stay."""
    email = event.setdefault("email", {})
    if tx.sender is not None and "from" not in email:
        email["from"] = {"address": [tx.sender]}
    if tx.message_id is not None and "message_id" not in email:
        email["message_id"] = tx.message_id
    source = {k: v for k, v in (("ip", tx.client_ip), ("domain", tx.client_domain)) if v}
    if source and "source" not in event:
        event["source"] = source
    if tx.user and "user" not in event:
        event["user"] = {"name": tx.user}
    mail = event.setdefault("mail", {})
    if tx.size is not None and "size" not in mail:
        mail["size"] = tx.size


_RELAY = re.compile(r"(?P<name>[^\[\]]*)\[(?P<address>[^\]]*)\]")


def _is_local(relay: str, local: list[str]) -> bool:
    """Whether a delivery's relay (`name[address]:port`) is one of the local ones by name or address: exactly,
    not as a substring (127.0.0.10 and localhost.example are elsewhere)."""
    m = _RELAY.match(relay)
    if m is None:
        return relay in local
    return m["address"] in local or m["name"] in local
