"""Europe/London time and England-and-Wales Working Days (R-SI-2, R-DEM-3, R-X-4).

Everything smki stores is UTC; SEC deadlines are defined in local time in London, so they are
computed here and nowhere else. Bank holidays come from the ``holidays`` package (England
subdivision of GB, which is also the list for Wales), so due dates are computed, never typed in.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

import holidays

LONDON: Final = ZoneInfo("Europe/London")

#: R-SI-2: a batch received between 08:00 and 20:00 London time is due by 08:00 the next day.
_WINDOW_OPENS: Final = dt.time(8, 0)
_WINDOW_CLOSES: Final = dt.time(20, 0)
#: ... and one received outside that window within 24 hours of receipt.
_OUT_OF_HOURS: Final = dt.timedelta(hours=24)
_SATURDAY: Final = 5


def _require_aware(at: dt.datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required (smki stores UTC)")


def to_london(at: dt.datetime) -> dt.datetime:
    """``at`` (timezone-aware) as London wall-clock time (GMT or BST)."""
    _require_aware(at)
    return at.astimezone(LONDON)


def batch_deadline(received: dt.datetime) -> dt.datetime:
    """When the response to a Batched CSR received at ``received`` is due, in UTC (R-SI-2).

    Received at or after 08:00 and before 20:00 London time: 08:00 London time on the next
    calendar day (whatever the clocks did overnight). Otherwise: 24 hours after receipt.
    """
    local = to_london(received)
    if _WINDOW_OPENS <= local.time() < _WINDOW_CLOSES:
        next_day = local.date() + dt.timedelta(days=1)
        # 08:00 is never skipped or repeated in London (the clocks change at 01:00 UTC).
        return dt.datetime.combine(next_day, _WINDOW_OPENS, tzinfo=LONDON).astimezone(dt.UTC)
    return received.astimezone(dt.UTC) + _OUT_OF_HOURS


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[dt.date]:
    calendar = holidays.country_holidays("GB", subdiv="ENG", years=year)
    return frozenset(day for day in calendar if day.year == year)


def bank_holidays(year: int) -> frozenset[dt.date]:
    """The bank holidays in England and Wales in ``year`` (substitute days included)."""
    return _bank_holidays(year)


def is_working_day(day: dt.date) -> bool:
    """A Working Day: not a Saturday, Sunday or England-and-Wales bank holiday (R-DEM-3)."""
    if isinstance(day, dt.datetime):
        raise TypeError("is_working_day takes a date; convert a datetime with to_london first")
    return day.weekday() < _SATURDAY and day not in _bank_holidays(day.year)


def add_working_days(day: dt.date, n: int) -> dt.date:
    """The date ``n`` Working Days after ``day`` (before it for negative ``n``).

    ``day`` itself is not counted, and need not be a Working Day; ``n = 0`` returns ``day``.
    """
    step = dt.timedelta(days=1 if n >= 0 else -1)
    remaining = abs(n)
    current = day
    while remaining:
        current += step
        if is_working_day(current):
            remaining -= 1
    return current


def nth_working_day(year: int, month: int, n: int) -> dt.date:
    """The ``n``-th Working Day (1-based) of a month, e.g. the 10th for R-DEM-2 reports.

    ValueError if the month has fewer than ``n`` Working Days.
    """
    if n < 1:
        raise ValueError("n counts from 1")
    first = dt.date(year, month, 1)
    day = first if is_working_day(first) else add_working_days(first, 1)
    if n > 1:
        day = add_working_days(day, n - 1)
    if day.month != month or day.year != year:
        raise ValueError(f"{year}-{month:02d} has fewer than {n} Working Days")
    return day
