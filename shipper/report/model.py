"""The report's output contract: what `shipper report --format json` prints, and what the text and HTML
forms render."""

from __future__ import annotations

from pydantic import BaseModel


class GrandTotals(BaseModel):
    """pflogsumm's "Grand Totals", by pflogsumm's definitions (see tally.py)."""

    received: int
    delivered: int
    forwarded: int
    deferred: int
    deferrals: int
    bounced: int
    rejected: int
    rejected_percent: int
    reject_warnings: int
    held: int
    discarded: int
    discarded_percent: int
    bytes_received: int
    bytes_delivered: int
    senders: int
    sending_domains: int
    recipients: int
    recipient_domains: int


class Traffic(BaseModel):
    received: int
    delivered: int
    deferred: int
    bounced: int
    rejected: int


class DayTraffic(Traffic):
    date: str


class HourTraffic(Traffic):
    hour: int


class DomainDelivery(BaseModel):
    domain: str
    delivered: int
    bytes: int
    deferrals: int
    avg_delay: float
    max_delay: float


class DomainReceived(BaseModel):
    domain: str
    messages: int
    bytes: int


class AddressCount(BaseModel):
    address: str
    messages: int
    bytes: int


class Reason(BaseModel):
    where: str  # daemon, relay, reject stage (RCPT, MAIL...) or `cleanup`
    reason: str
    detail: str | None = None
    count: int


class Outcomes(BaseModel):
    """Messages (transactions joined by queue ID), not lines."""

    messages: int
    delivered: int
    partially_delivered: int
    bounced: int
    expired: int
    rejected: int
    discarded: int
    deleted: int  # by an admin (postsuper -d)
    removed_without_delivery: int
    notifications: int
    in_flight: int
    stuck: int  # deferred, still queued when the log ends
    held: int  # on hold (Postfix) or frozen (Exim) when the log ends


class CategoryCount(BaseModel):
    """Failure lines by reason category, split by what the line is: a deferred or bounced delivery, this
    server refusing a client (a reject), or another failure (an outbound connection, a login to a relay)."""

    category: str
    deferrals: int
    bounces: int
    rejects: int
    other: int
    total: int


class StuckMessage(BaseModel):
    host: str
    queue_ids: list[str]
    status: str  # deferred, or the MTA's word for on hold (held, frozen)
    sender: str | None
    recipients: list[str]
    first_seen: str
    last_seen: str
    deferrals: int
    last_reason: str | None
    held_since: str | None = None
    held_by: str | None = None
    category: str | None
    hint: str | None


class StuckGroup(BaseModel):
    """The stuck messages of one reason category: its hint once, the longest waiting messages under it."""

    category: str | None
    hint: str | None
    count: int
    messages: list[StuckMessage]
    more: int  # in this category beyond those listed


class StuckMail(BaseModel):
    total: int
    shown: int
    groups: list[StuckGroup]


class AuthSource(BaseModel):
    ip: str
    failures: int
    users: int  # distinct accounts tried
    services: list[str]
    first: str
    last: str


class AuthUser(BaseModel):
    user: str
    failures: int
    sources: int  # distinct addresses it failed from


class AuthService(BaseModel):
    service: str  # the source: postfix, dovecot, auth.sshd, ...
    failures: int
    successes: int


class LoginAfterFailures(BaseModel):
    """A login that succeeded from an address with failed logins before it: a guessed password?"""

    ip: str
    user: str | None
    service: str
    at: str
    failures_before: int
    first_failure: str
    users_tried: int


class AuthSummary(BaseModel):
    failures: int
    successes: int
    sources: int  # distinct addresses with failures
    by_source: list[AuthSource]
    by_user: list[AuthUser]
    by_service: list[AuthService]
    successes_after_failures: list[LoginAfterFailures]


class Report(BaseModel):
    lines: int
    first: str | None
    last: str | None
    timezone: str
    grand_totals: GrandTotals
    per_day: list[DayTraffic]
    per_hour: list[HourTraffic]
    recipient_domains: list[DomainDelivery]
    sending_domains: list[DomainReceived]
    senders_by_count: list[AddressCount]
    recipients_by_count: list[AddressCount]
    senders_by_size: list[AddressCount]
    recipients_by_size: list[AddressCount]
    deferral_reasons: list[Reason]
    bounce_reasons: list[Reason]
    rejects: list[Reason]
    reject_warnings: list[Reason]
    holds: list[Reason]
    discards: list[Reason]
    smtp_problems: list[Reason]
    warnings: list[Reason]
    fatals: list[Reason]
    panics: list[Reason]
    master: list[Reason]
    messages: Outcomes
    reason_categories: list[CategoryCount]
    stuck: StuckMail
    authentication: AuthSummary
