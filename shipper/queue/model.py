"""What a queue reader returns: one `QueuedMessage` per message, whatever the MTA (the output contract of
`shipper queue list --format json` and of the queue snapshots)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shipper.parse.reasons import classify


class QueueError(ValueError):
    """Command output that is not what the MTA prints: malformed, truncated or from another MTA."""


class QueuedRecipient(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str
    reason: str | None = None  # why delivery to it was deferred, as the queue says
    delivered: bool = False  # Exim lists addresses already delivered (`D`)


class QueuedMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mta: str
    queue_id: str
    queue: str  # active, deferred, hold, incoming, maildrop, frozen, ...
    arrival: datetime | None = None
    age_seconds: int | None = Field(default=None, ge=0)
    size: int | None = Field(default=None, ge=0)
    sender: str = ""  # "" is the null sender of a bounce
    recipients: list[QueuedRecipient] = Field(default_factory=list)

    @property
    def reason(self) -> str | None:
        """The deferral reason of the first recipient that has one."""
        return next((r.reason for r in self.recipients if r.reason), None)

    def diagnosis(self) -> tuple[str | None, str | None]:
        """(mail.reason.category, hint) of its reason, as the log pipeline classifies it."""
        reason = self.reason
        found = classify(reason) if reason else None
        return found if found is not None else (None, None)


def age(arrival: datetime | None, now: datetime) -> int | None:
    return None if arrival is None else max(0, int((now - arrival).total_seconds()))
