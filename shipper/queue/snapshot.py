"""Queue snapshots for the metrics-mail.queue-<namespace> data stream: a document per queued message and a
summary per host (fields: shipper/schema/queue.yml)."""

from __future__ import annotations

import socket
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from shipper.queue.model import QueuedMessage
from shipper.queue.mta import diagnose

COUNTED = {"active": "active", "deferred": "deferred", "hold": "hold", "incoming": "incoming",
           "maildrop": "incoming", "frozen": "frozen"}  # fmt: skip


def _stamp(now: datetime) -> str:
    return now.isoformat(timespec="milliseconds")


def snapshot_docs(messages: list[QueuedMessage], mta: str, namespace: str, now: datetime,
                  host: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
    host = host or socket.gethostname()
    snapshot_id = uuid.uuid4().hex
    base = {
        "@timestamp": _stamp(now),
        "event": {"kind": "metric", "dataset": "mail.queue"},
        "data_stream": {"type": "metrics", "dataset": "mail.queue", "namespace": namespace},
        "host": {"hostname": host},
    }
    docs = []
    reasons: Counter[str] = Counter()
    for message in messages:
        _, category, hint = diagnose(message)
        if category:
            reasons[category] += 1
        pending = [r.address for r in message.recipients if not r.delivered]
        mail: dict[str, Any] = {"queue": {
            "doc": "message", "snapshot_id": snapshot_id, "mta": mta, "name": message.queue,
            "age": message.age_seconds, "recipients": len(pending),
        }}  # fmt: skip
        if message.arrival is not None:
            mail["queue"]["arrival"] = _stamp(message.arrival)
        if message.size is not None:
            mail["size"] = message.size
        if message.reason or category:
            mail["reason"] = {**({"text": message.reason} if message.reason else {}),
                              **({"category": category} if category else {}),
                              **({"hint": hint} if hint else {})}  # fmt: skip
        docs.append({**base, "email": {"local_id": message.queue_id, "from": {"address": [message.sender]},
                                       "to": {"address": pending}}, "mail": mail})  # fmt: skip
    counts = Counter(COUNTED.get(m.queue, "other") for m in messages)
    summary = {
        "doc": "summary", "snapshot_id": snapshot_id, "mta": mta, "messages": len(messages),
        "total_size": sum(m.size or 0 for m in messages),
        "oldest_age": max((m.age_seconds or 0 for m in messages), default=0),
        "count": {name: counts.get(name, 0) for name in ("active", "deferred", "hold", "incoming", "frozen", "other")},
        "top_reasons": [category for category, _ in reasons.most_common(10)],
    }  # fmt: skip
    docs.append({**base, "mail": {"queue": summary}})
    return docs
