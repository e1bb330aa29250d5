"""Time as events and documents write it."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_utc(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds and a Z, as @timestamp is written."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso_utc(datetime.now(UTC))


def parse_iso(stamp: str) -> datetime:
    """An @timestamp (or any RFC 3339 time) back to an aware datetime."""
    return datetime.fromisoformat(stamp)
