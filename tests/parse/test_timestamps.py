from __future__ import annotations

from datetime import date

import pytest

from shipper.parse.envelope import EnvelopeParser
from shipper.parse.timestamps import TimestampConverter, YearResolver, resolve_timezone


@pytest.mark.parametrize(
    ("reference", "month", "day", "year"),
    [
        (date(2026, 1, 2), 12, 31, 2025),  # rotated file written just after New Year
        (date(2026, 1, 2), 1, 1, 2026),
        (date(2026, 1, 2), 1, 3, 2026),  # one day of clock skew allowed
        (date(2026, 1, 2), 1, 4, 2025),
        (date(2026, 11, 28), 11, 29, 2026),
        (date(2026, 11, 28), 11, 30, 2025),
        (date(2026, 11, 28), 2, 29, 2024),  # the most recent leap day
        (date(2028, 3, 1), 2, 29, 2028),
    ],
)
def test_year_resolution(reference, month, day, year):
    assert YearResolver(reference).year_for(month, day) == year


def test_file_spanning_new_year_keeps_order():
    env = EnvelopeParser(TimestampConverter(resolve_timezone("UTC"), date(2026, 1, 1)))
    stamps = [env.parse(f"{d} h postfix/qmgr[1]: x").fields()["@timestamp"]
              for d in ("Dec 31 23:59:58", "Dec 31 23:59:59", "Jan  1 00:00:00", "Jan  1 00:00:01")]  # fmt: skip
    assert stamps == sorted(stamps)
    assert stamps[1] == "2025-12-31T23:59:59Z"
    assert stamps[2] == "2026-01-01T00:00:00Z"


def test_explicit_year_in_bsd_stamp_wins():
    env = EnvelopeParser(TimestampConverter(resolve_timezone("UTC"), date(2026, 1, 1)))
    assert env.parse("Nov 28 2019 10:00:01 h p[1]: x").fields()["@timestamp"] == "2019-11-28T10:00:01Z"


def test_unknown_timezone_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        resolve_timezone("Mars/Olympus")
