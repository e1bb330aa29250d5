"""`shipper trace`: the whole life of one message, from log files, as a readable timeline.

Two passes over the files: the correlator finds the transactions the query names (a queue ID, a
message-id or an address) with every queue ID of their chains; the second pass collects every line of
those queue IDs, across files and compressed rotations, in time order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from shipper.enrich.correlate import Correlator, Transaction, _first, _get


@dataclass
class Trace:
    transaction: Transaction
    lines: list[tuple[str, str, str]]  # (timestamp, queue ID, original line)


def matches(tx: Transaction, query: str) -> bool:
    wanted = query.strip("<>").lower()
    return (
        wanted in (i.lower() for i in tx.ids)
        or (tx.message_id or "").lower() == wanted
        or (tx.sender or "").lower() == wanted
        or wanted in (a.lower() for a in tx.recipients)
    )


def trace(query: str, events: Callable[[], Iterable[dict[str, Any]]], correlator: Correlator) -> list[Trace]:
    """`events` is called twice (two passes over the same inputs)."""
    found: list[Transaction] = []
    for event in events():
        found += [tx for tx in correlator.feed(event) if matches(tx, query)]
    found += [tx for tx in correlator.finish() if matches(tx, query)]
    children = {tx.ids[0]: tx for tx in found}
    wanted = {(tx.host, qid): tx for tx in found for qid in tx.ids}
    traces = {id(tx): Trace(tx, []) for tx in found}
    for event in events():
        qid = _first(_get(event, "email.local_id"))
        host = _get(event, "host.hostname") or ""
        tx = wanted.get((host, qid)) if isinstance(qid, str) else None
        if tx is None:
            child = _get(event, "mail.bounce.queue_id")
            tx = children.get(child) if isinstance(child, str) else None
        if tx is not None:
            original = _get(event, "event.original") or event.get("message") or ""
            traces[id(tx)].lines.append((event.get("@timestamp") or "", qid or "", original))
    for item in traces.values():
        item.lines.sort(key=lambda line: line[0])
    return sorted(traces.values(), key=lambda t: t.transaction.start)


def render(item: Trace) -> Iterator[str]:
    tx = item.transaction
    doc = tx.doc()
    chain = " -> ".join(tx.ids)
    yield f"message {chain} on {tx.host} ({tx.instance}): {doc['mail']['status']}" + (
        "" if tx.complete else " (still in the queue or cut off)"
    )
    size = tx.size if tx.size is not None else "?"
    yield f"  from <{tx.sender or ''}>  message-id <{tx.message_id or '?'}>  size {size}"
    if tx.client_ip or tx.client_domain:
        sasl = f"  sasl {tx.user}" if tx.user else ""
        yield f"  client {tx.client_domain or 'unknown'}[{tx.client_ip or '?'}]{sasl}"
    if tx.parent:
        yield f"  a notification about {tx.parent}"
    yield "  timeline:"
    for stamp, qid, line in item.lines:
        yield f"    {stamp}  {qid:<12} {line}"
    yield "  recipients:"
    for recipient in tx.recipients.values():
        yield (
            f"    {recipient.address}: {recipient.status}"
            + (f" ({recipient.dsn})" if recipient.dsn else "")
            + (f" via {recipient.relay}" if recipient.relay else "")
        )
        if recipient.response:
            yield f"      {recipient.response}"
    if tx.deferrals:
        yield f"  deferred {tx.deferrals} time(s)"
    reason = doc["mail"].get("reason")
    if reason:
        yield f"  diagnosis: {reason['category']}"
        if "hint" in reason:
            yield f"  hint: {reason['hint']}"
