"""Stuck mail: queued longer than a threshold, with why (the queue's own reason, or else the last failure its
log trail shows), the reason's category and hint, and the trail itself (`shipper trace` machinery)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from shipper.enrich.correlate import HELD, Correlator
from shipper.enrich.trace import from_elasticsearch, trace_where
from shipper.parse.packs import load_packs
from shipper.queue.model import QueuedMessage
from shipper.queue.mta import HELD_QUEUES, diagnose


@dataclass
class Stuck:
    message: QueuedMessage
    reason: str | None = None
    category: str | None = None
    hint: str | None = None
    last_reply: str | None = None  # a held message's last deferral reply (the queue keeps it)
    trail: list[tuple[str, str, str]] = field(default_factory=list)  # (timestamp, queue ID, log line)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.message.model_dump(mode="json"),
            "reason": self.reason, "category": self.category, "hint": self.hint, "last_reply": self.last_reply,
            "trail": [{"@timestamp": t, "queue_id": q, "line": line} for t, q, line in self.trail],
        }  # fmt: skip


def select_stuck(messages: list[QueuedMessage], older_than: int) -> list[Stuck]:
    out = []
    for message in messages:
        if (message.age_seconds or 0) < older_than:
            continue
        reason, category, hint = diagnose(message)
        held = category == HELD
        out.append(Stuck(message, reason, category, hint, last_reply=message.reason if held else None))
    return sorted(out, key=lambda s: -(s.message.age_seconds or 0))


def _explain(item: Stuck, doc: dict[str, Any], lines: list[tuple[str, str, str]]) -> None:
    item.trail = lines
    mail = doc.get("mail") or {}
    hold = mail.get("hold")
    if item.category == HELD and isinstance(hold, dict):  # the logs say since when and by whom
        item.reason = f"{HELD_QUEUES[item.message.queue]} since {hold.get('since')} ({hold.get('by')})"
    if item.reason is None:  # the queue listing says nothing (Exim, qmail, hold): the logs' last failure
        responses = [r.get("response") for r in mail.get("recipients") or [] if r.get("status") != "sent"]
        item.reason = next((r for r in responses if r), None)
    if item.category is None and mail.get("reason"):
        item.category = mail["reason"].get("category")
        item.hint = item.hint or mail["reason"].get("hint")


def explain_from_logs(stuck: list[Stuck], events: Callable[[], Iterable[dict[str, Any]]]) -> None:
    """Give each stuck message its log trail from parsed log lines (two passes, as `trace`)."""
    ids = {s.message.queue_id for s in stuck}
    traces = trace_where(lambda tx: bool(ids.intersection(tx.ids)), events, Correlator(load_packs()))
    latest: dict[str, Any] = {}  # a queue ID reused over the logs' span: its latest message is the queued one
    for item in traces:
        for qid in ids.intersection(item.transaction.ids):
            if qid not in latest or item.transaction.start >= latest[qid].transaction.start:
                latest[qid] = item
    for s in stuck:
        found = latest.get(s.message.queue_id)
        if found is not None:
            _explain(s, found.transaction.doc(), found.lines)


def explain_from_elasticsearch(stuck: list[Stuck], client: Any, namespace: str) -> None:
    for s in stuck:
        _, found = from_elasticsearch(client, s.message.queue_id, namespace, limit=20)
        if found:
            doc, lines = max(found, key=lambda pair: pair[0].get("@timestamp", ""))
            _explain(s, doc, lines)
