"""Timestamps of every envelope format, normalised to ISO-8601 UTC (`...Z`)."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# English first; then the abbreviations localised syslog/journalctl output uses (fr, de, es, it, nl, pt).
MONTHS: dict[str, int] = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
    "sept": 9, "janv": 1, "févr": 2, "fév": 2, "mars": 3, "avr": 4, "mai": 5, "juin": 6,
    "juil": 7, "aoû": 8, "août": 8, "déc": 12, "mär": 3, "mrz": 3, "okt": 10, "dez": 12,
    "ene": 1, "abr": 4, "ago": 8, "dic": 12, "gen": 1, "giu": 6, "lug": 7, "set": 9,
    "ott": 10, "mei": 5, "out": 10, "fev": 2, "dez.": 12,
}  # fmt: skip

_INVALID = -(1 << 63)  # marks an hour key that names no real date
TAI64_UNIX_OFFSET = (1 << 62) + 10  # daemontools/tai64nlocal convention


def _local_zone() -> tzinfo:
    """The machine's zone with its DST rules (not a fixed offset): $TZ, /etc/timezone, then /etc/localtime."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    timezone_file = Path("/etc/timezone")
    if timezone_file.is_file():
        candidates.append(timezone_file.read_text(encoding="utf-8", errors="replace").strip())
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        candidates.append(str(localtime.resolve()).partition("zoneinfo/")[2])
    for key in candidates:
        if key:
            try:
                return ZoneInfo(key)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    if localtime.is_file():
        with localtime.open("rb") as handle:
            return ZoneInfo.from_file(handle, key="localtime")
    return UTC


def resolve_timezone(name: str | None) -> tzinfo:
    """`None`/`local` → the machine's zone; otherwise an IANA name or `UTC`."""
    if name is None or name.lower() == "local":
        return _local_zone()
    if name.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (expected an IANA name such as Europe/Berlin, or UTC)") from None


def timezone_name(tz: tzinfo) -> str:
    if tz is UTC:
        return "UTC"
    return getattr(tz, "key", None) or tz.tzname(datetime.now()) or "local"


def format_utc(moment: datetime, fraction_digits: int) -> str:
    moment = moment.astimezone(UTC)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if fraction_digits:
        base += f".{moment.microsecond:06d}"[: 1 + min(fraction_digits, 6)]
    return base + "Z"


def _fraction(frac: str | None) -> tuple[int, int]:
    if not frac:
        return 0, 0
    return int(frac[:6].ljust(6, "0")), len(frac)


class YearResolver:
    """Places a year-less (BSD syslog) timestamp in the twelve months ending one day after a reference date.

    Stateless per line, so it survives Dec→Jan in a file whose reference date (its mtime, or today for a
    stream) lies after the rollover, and it gives the same answer whichever worker parses the line.
    """

    def __init__(self, reference: date) -> None:
        self.latest = reference + timedelta(days=1)

    def year_for(self, month: int, day: int) -> int:
        year = self.latest.year
        if (month, day) > (self.latest.month, self.latest.day):
            year -= 1
        if month == 2 and day == 29:
            while not _is_leap(year):
                year -= 1
        return year


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


class TimestampConverter:
    """Turns the pieces each envelope regex captures into ISO-8601 UTC strings, with small caches."""

    def __init__(self, tz: tzinfo, reference: date) -> None:
        self.tz = tz
        self.years = YearResolver(reference)
        self._hours: dict[tuple[str, str, str | None, str], int] = {}
        self._iso_cache: dict[str, tuple[str, bool]] = {}

    def bsd(self, month_name: str, day: str, clock: str, frac: str | None, year: str | None) -> str | None:
        """`clock` is HH:MM:SS. The UTC epoch of each local hour is computed once (a zone's offset does not
        change within an hour); the minutes and seconds are then plain arithmetic."""
        hour_key = (month_name, day, year, clock[:2])
        base = self._hours.get(hour_key)
        if base is None:
            base = self._hour_epoch(month_name, day, year, int(clock[:2]))
            if len(self._hours) > 4096:
                self._hours.clear()
            self._hours[hour_key] = base
        if base == _INVALID:
            return None
        minute, second = int(clock[3:5]), int(clock[6:8])
        if minute > 59 or second > 60:
            return None
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base + minute * 60 + min(second, 59)))
        if frac:
            text += "." + frac[:6]
        return text + "Z"

    def _hour_epoch(self, month_name: str, day: str, year: str | None, hour: int) -> int:
        month = MONTHS.get(month_name.lower().rstrip("."))
        if month is None:
            return _INVALID
        day_n = int(day)
        y = int(year) if year else self.years.year_for(month, day_n)
        try:
            return int(datetime(y, month, day_n, hour, tzinfo=self.tz).timestamp())
        except (ValueError, OverflowError):
            return _INVALID

    def iso(self, text: str) -> tuple[str | None, bool]:
        """RFC 3339 / ISO-like `YYYY-MM-DD[T ]HH:MM:SS[.f][zone]`. Returns (iso, had_zone)."""
        cached = self._iso_cache.get(text)
        if cached is not None:
            return cached
        normalized = text.replace(",", ".")
        if normalized.endswith(("Z", "z")):
            normalized = normalized[:-1] + "+00:00"
        frac_digits = 0
        dot = normalized.find(".", 19)
        if dot != -1:
            end = dot + 1
            while end < len(normalized) and normalized[end].isdigit():
                end += 1
            frac_digits = end - dot - 1
            # fromisoformat takes at most 6 fraction digits.
            normalized = normalized[: dot + 1] + normalized[dot + 1 : end][:6].ljust(6, "0") + normalized[end:]
        try:
            moment = datetime.fromisoformat(normalized)
        except ValueError:
            return None, False
        had_zone = moment.tzinfo is not None
        if not had_zone:
            moment = moment.replace(tzinfo=self.tz)
        result = (format_utc(moment, frac_digits), had_zone)
        if len(self._iso_cache) > 8192:
            self._iso_cache.clear()
        self._iso_cache[text] = result
        return result

    def tai64n(self, label: str) -> str | None:
        try:
            seconds = int(label[:16], 16) - TAI64_UNIX_OFFSET
            nanos = int(label[16:24], 16)
            moment = datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=nanos // 1000)
        except (ValueError, OverflowError, OSError):
            return None
        return format_utc(moment, 6)

    def unix(self, text: str) -> str | None:
        try:
            seconds, _, frac = text.partition(".")
            moment = datetime.fromtimestamp(int(seconds), UTC)
        except (ValueError, OverflowError, OSError):
            return None
        micro, digits = _fraction(frac)
        return format_utc(moment.replace(microsecond=micro), digits)
