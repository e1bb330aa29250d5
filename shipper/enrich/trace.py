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
    return trace_where(lambda tx: matches(tx, query), events, correlator)


def trace_where(
    wanted: Callable[[Transaction], bool], events: Callable[[], Iterable[dict[str, Any]]], correlator: Correlator
) -> list[Trace]:
    """The transactions `wanted` picks, each with its lines; `events` is called twice."""
    found: list[Transaction] = []
    for event in events():
        found += [tx for tx in correlator.feed(event) if wanted(tx)]
    found += [tx for tx in correlator.finish() if wanted(tx)]
    children = {tx.ids[0]: tx for tx in found}
    by_id = {(tx.host, qid): tx for tx in found for qid in tx.ids}
    traces = {id(tx): Trace(tx, []) for tx in found}
    for event in events():
        qid = _first(_get(event, "email.local_id"))
        host = _get(event, "host.hostname") or ""
        tx = by_id.get((host, qid)) if isinstance(qid, str) else None
        if tx is None:
            child = _get(event, "mail.bounce.queue_id")
            tx = children.get(child) if isinstance(child, str) else None
        if tx is not None:
            original = _get(event, "event.original") or event.get("message") or ""
            traces[id(tx)].lines.append((event.get("@timestamp") or "", qid or "", original))
    for item in traces.values():
        item.lines.sort(key=lambda line: line[0])
    return sorted(traces.values(), key=lambda t: t.transaction.start)


def render_doc(doc: dict[str, Any], lines: list[tuple[str, str, str]]) -> Iterator[str]:
    """A transaction document (from the correlator or from Elasticsearch) and its lines, for people."""
    mail, email = doc.get("mail", {}), doc.get("email", {})
    ids = email.get("local_id") or []
    complete = mail.get("complete", True)
    host = (doc.get("host") or {}).get("hostname", "")
    yield f"message {' -> '.join(ids)} on {host} ({mail.get('instance', '')}): {mail.get('status')}" + (
        "" if complete else " (still in the queue or cut off)"
    )
    sender = _first((email.get("from") or {}).get("address"))
    yield f"  from <{sender or ''}>  message-id <{email.get('message_id') or '?'}>  size {mail.get('size', '?')}"
    source = doc.get("source") or {}
    if source:
        user = (doc.get("user") or {}).get("name")
        sasl = f"  sasl {user}" if user else ""
        yield f"  client {source.get('domain') or 'unknown'}[{source.get('ip') or '?'}]{sasl}"
    if mail.get("parent_local_id"):
        yield f"  a notification about {mail['parent_local_id']}"
    yield "  timeline:"
    for stamp, qid, line in lines:
        yield f"    {stamp}  {qid:<12} {line}"
    yield "  recipients:"
    for recipient in mail.get("recipients") or []:
        yield (
            f"    {recipient['address']}: {recipient['status']}"
            + (f" ({recipient['dsn']})" if recipient.get("dsn") else "")
            + (f" via {recipient['relay']}" if recipient.get("relay") else "")
        )
        if recipient.get("response"):
            yield f"      {recipient['response']}"
    if mail.get("deferrals"):
        yield f"  deferred {mail['deferrals']} time(s)"
    hold = mail.get("hold")
    if isinstance(hold, dict):
        yield f"  {mail.get('status')} since {hold.get('since')} by {hold.get('by')}"
    reason = mail.get("reason")
    if reason:
        yield f"  diagnosis: {reason['category']}"
        if "hint" in reason:
            yield f"  hint: {reason['hint']}"


PAGE = 200


def from_elasticsearch(
    client: Any, query: str, namespace: str = "*", limit: int | None = None
) -> tuple[int, list[tuple[dict[str, Any], list[tuple[str, str, str]]]]]:
    """How many transactions `query` names in mail-transactions-<namespace>, and the first `limit` of them
    (None: all) in time order, paged with a point in time, each with its lines from the logs-mail.* data
    streams: every queue ID of its chain on its host, within its first and last line."""
    wanted = query.strip().strip("<>")
    values = sorted({wanted, wanted.lower()})
    fields = ("email.local_id", "email.message_id", "email.from.address", "email.to.address")
    where = {"bool": {"should": [{"terms": {f: values}} for f in fields], "minimum_should_match": 1}}
    index = f"mail-transactions-{namespace}"
    if not client.indices.exists(index=index, allow_no_indices=False):
        return 0, []
    pit = client.open_point_in_time(index=index, keep_alive="1m", ignore_unavailable=True)["id"]
    total, docs = 0, list[dict[str, Any]]()
    after: list[Any] | None = None
    try:
        while limit is None or len(docs) < limit:
            size = PAGE if limit is None else min(PAGE, limit - len(docs))
            page = client.search(
                pit={"id": pit, "keep_alive": "1m"}, size=size, query=where, track_total_hits=after is None,
                sort=[{"@timestamp": "asc"}, {"_shard_doc": "asc"}], **({"search_after": after} if after else {}),
            )  # fmt: skip
            pit = page.get("pit_id", pit)
            hits = page["hits"]["hits"]
            if after is None:
                total = page["hits"]["total"]["value"]
            docs += [hit["_source"] for hit in hits]
            if len(hits) < size:
                break
            after = hits[-1]["sort"]
    finally:
        client.close_point_in_time(id=pit)
    return total, [(doc, _lines(client, doc, namespace)) for doc in docs]


def _lines(client: Any, doc: dict[str, Any], namespace: str) -> list[tuple[str, str, str]]:
    ids = doc["email"]["local_id"]
    host = (doc.get("host") or {}).get("hostname")
    span = {"gte": doc["event"]["start"], "lte": doc["event"]["end"]}
    filters: list[dict[str, Any]] = [{"range": {"@timestamp": span}}]
    if host:
        filters.append({"term": {"host.hostname": host}})
    lines = client.search(
        index=f"logs-mail.*-{namespace}", size=10_000, sort=[{"@timestamp": "asc"}, {"log.offset": "asc"}],
        query={"bool": {"filter": filters, "minimum_should_match": 1, "should": [
            {"terms": {"email.local_id": ids}}, {"terms": {"mail.bounce.queue_id": ids}}]}},
        source=["@timestamp", "email.local_id", "event.original", "message"],
        ignore_unavailable=True, allow_no_indices=True,
    )  # fmt: skip
    rows = []
    for line in lines["hits"]["hits"]:
        event = line["_source"]
        qid = _first(_get(event, "email.local_id")) or ""
        rows.append((event.get("@timestamp", ""), qid, _get(event, "event.original") or event.get("message", "")))
    return rows
