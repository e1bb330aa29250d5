"""What every output speaks: records in, outcomes and acknowledgements out.

A `Record` is one document on its way: where it goes (`index`: a data stream or index name; a file output
ignores it), its stable `id` (so a replay creates no duplicate where the output can tell), its serialized
source, and an opaque `token` the output hands back, in order, when the record's batch is acknowledged.
An `Output` takes records, batches them as it likes, and calls its `ack(records)` once each batch has a
final outcome; a new output implements these few methods and nothing else changes (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(slots=True)
class Record:
    index: str
    id: str
    source: bytes
    token: Any = None
    op: str = "create"  # "index" for documents replaced as they change (message transactions)
    kind: str = "line"  # what it is, for the counts: a log line, or a `document` (a message's, a queue snapshot's)


@dataclass
class OutputStats:
    """Final outcomes. `indexed`: log events accepted by the output; `documents`: message (transaction) and
    queue snapshot documents written, counted apart; `already_present`: the output had it already (a replay);
    `dead_lettered`: refused for good and set aside with the reason; `failed`: neither. `verb` says what
    accepting is for this output: `indexed` (Elasticsearch) or `written` (a file, stdout)."""

    indexed: int = 0
    documents: int = 0
    verb: str = "indexed"
    already_present: int = 0
    dead_lettered: int = 0
    failed: int = 0
    retries: int = 0
    errors: list[str] = field(default_factory=list)  # first few distinct problems, for the summary

    def note(self, message: str) -> None:
        if len(self.errors) < 10 and message not in self.errors:
            self.errors.append(message)


Ack = Callable[[list[Record]], None]


class Interrupted(Exception):
    """Shutting down: the output stopped waiting (for its destination, or for room in its queue)."""


class Output(Protocol):
    @property
    def stats(self) -> OutputStats: ...

    @property
    def replaces_documents(self) -> bool:
        """A record with a known id replaces the earlier one (op "index")."""

    def add(self, record: Record) -> None: ...

    def flush(self) -> None:
        """Hand over what is batched; may wait while the output is full (that is the backpressure)."""

    def batch_age(self) -> float:
        """Seconds the oldest record not yet handed over has waited."""

    def depth(self) -> int:
        """Batches waiting (0: everything handed over is acknowledged)."""

    def give_up(self) -> None:
        """Shutdown deadline: stop waiting; what is unacknowledged is read again at the next start."""

    def close(self, timeout: float | None = None) -> OutputStats: ...
