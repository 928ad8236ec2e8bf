"""SEC deadlines in Europe/London and England-and-Wales Working Days (R-SI-2, R-DEM-3)."""

from __future__ import annotations

import datetime as dt

import pytest

from smki.calendar import (
    LONDON,
    add_working_days,
    bank_holidays,
    batch_deadline,
    is_working_day,
    nth_working_day,
    to_london,
)

UTC = dt.UTC


def _local(y: int, m: int, d: int, hh: int, mm: int, ss: int = 0) -> dt.datetime:
    """London wall-clock time (never ambiguous in these tests), as UTC."""
    return dt.datetime(y, m, d, hh, mm, ss, tzinfo=LONDON).astimezone(UTC)


def _utc(y: int, m: int, d: int, hh: int, mm: int, ss: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, ss, tzinfo=UTC)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # Winter (GMT = UTC).
        (_local(2026, 1, 14, 8, 0), _utc(2026, 1, 15, 8, 0)),
        (_local(2026, 1, 14, 19, 59, 59), _utc(2026, 1, 15, 8, 0)),
        (_local(2026, 1, 14, 20, 0), _utc(2026, 1, 15, 20, 0)),
        (_local(2026, 1, 14, 7, 59, 59), _utc(2026, 1, 15, 7, 59, 59)),
        (_local(2026, 1, 14, 23, 30), _utc(2026, 1, 15, 23, 30)),
        # Summer (BST = UTC+1): 08:00 local is 07:00 UTC.
        (_local(2026, 7, 1, 8, 0), _utc(2026, 7, 2, 7, 0)),
        (_local(2026, 7, 1, 12, 0), _utc(2026, 7, 2, 7, 0)),
        (_local(2026, 7, 1, 20, 0), _utc(2026, 7, 2, 19, 0)),
        (_local(2026, 7, 1, 7, 59), _utc(2026, 7, 2, 6, 59)),
        # Spring forward, Sunday 2026-03-29 01:00 UTC: received GMT, due BST.
        (_local(2026, 3, 28, 12, 0), _utc(2026, 3, 29, 7, 0)),
        (_local(2026, 3, 28, 8, 0), _utc(2026, 3, 29, 7, 0)),
        # Out of hours across the change: 24 elapsed hours, 25 on the wall clock.
        (_local(2026, 3, 28, 21, 0), _utc(2026, 3, 29, 21, 0)),
        (_local(2026, 3, 29, 0, 30), _utc(2026, 3, 30, 0, 30)),
        # The day of the change itself, after it.
        (_local(2026, 3, 29, 9, 0), _utc(2026, 3, 30, 7, 0)),
        # Fall back, Sunday 2026-10-25 01:00 UTC: received BST, due GMT.
        (_local(2026, 10, 24, 19, 59), _utc(2026, 10, 25, 8, 0)),
        (_local(2026, 10, 24, 8, 0), _utc(2026, 10, 25, 8, 0)),
        (_local(2026, 10, 24, 20, 0), _utc(2026, 10, 25, 19, 0)),
        (_local(2026, 10, 25, 12, 0), _utc(2026, 10, 26, 8, 0)),
    ],
)
def test_batch_deadline(received: dt.datetime, due: dt.datetime) -> None:
    deadline = batch_deadline(received)
    assert deadline == due
    assert deadline.tzinfo is UTC


def test_deadline_examples_in_local_time() -> None:
    spring = batch_deadline(_local(2026, 3, 28, 12, 0))
    assert to_london(spring).replace(tzinfo=None) == dt.datetime(2026, 3, 29, 8, 0)
    assert to_london(spring).tzname() == "BST"
    autumn = batch_deadline(_local(2026, 10, 24, 19, 59))
    assert to_london(autumn).replace(tzinfo=None) == dt.datetime(2026, 10, 25, 8, 0)
    assert to_london(autumn).tzname() == "GMT"


def test_ambiguous_hour_on_fall_back_is_out_of_hours() -> None:
    # 01:30 happens twice on 2026-10-25; both are out of hours: due 24 real hours later.
    first = dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST
    second = dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 01:30 GMT
    assert to_london(first).hour == to_london(second).hour == 1
    assert batch_deadline(first) == first + dt.timedelta(hours=24)
    assert batch_deadline(second) == second + dt.timedelta(hours=24)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        batch_deadline(dt.datetime(2026, 1, 1, 12, 0))


def test_other_offsets_are_converted() -> None:
    new_york = dt.timezone(dt.timedelta(hours=-5))
    # 04:00 in New York is 09:00 in London (GMT): inside the window.
    received = dt.datetime(2026, 1, 14, 4, 0, tzinfo=new_york)
    assert batch_deadline(received) == _utc(2026, 1, 15, 8, 0)


def test_working_days() -> None:
    assert is_working_day(dt.date(2026, 1, 2))  # Friday
    assert not is_working_day(dt.date(2026, 1, 1))  # New Year's Day
    assert not is_working_day(dt.date(2026, 1, 3))  # Saturday
    assert not is_working_day(dt.date(2026, 1, 4))  # Sunday
    assert not is_working_day(dt.date(2026, 4, 3))  # Good Friday
    assert not is_working_day(dt.date(2026, 4, 6))  # Easter Monday (England and Wales)
    assert not is_working_day(dt.date(2026, 12, 28))  # Boxing Day, substitute
    assert is_working_day(dt.date(2026, 3, 17))  # St Patrick's Day: not in England and Wales
    assert is_working_day(dt.date(2026, 11, 30))  # St Andrew's Day: not in England and Wales
    assert dt.date(2026, 8, 31) in bank_holidays(2026)  # late summer (Scotland: 3 August)
    assert dt.date(2026, 8, 3) not in bank_holidays(2026)
    with pytest.raises(TypeError):
        is_working_day(dt.datetime(2026, 1, 2, tzinfo=UTC))


def test_add_working_days() -> None:
    thursday = dt.date(2026, 4, 2)
    assert add_working_days(thursday, 0) == thursday
    assert add_working_days(thursday, 1) == dt.date(2026, 4, 7)  # over Easter
    assert add_working_days(dt.date(2026, 4, 7), -1) == thursday
    assert add_working_days(dt.date(2026, 12, 24), 1) == dt.date(2026, 12, 29)
    assert add_working_days(dt.date(2026, 1, 3), 1) == dt.date(2026, 1, 5)  # from a Saturday
    assert add_working_days(dt.date(2026, 1, 3), 0) == dt.date(2026, 1, 3)


def test_nth_working_day() -> None:
    assert nth_working_day(2026, 1, 1) == dt.date(2026, 1, 2)
    assert nth_working_day(2026, 1, 10) == dt.date(2026, 1, 15)
    # December 2026: the 15th Working Day (R-DEM-1 forecasts).
    assert nth_working_day(2026, 12, 15) == dt.date(2026, 12, 21)
    assert nth_working_day(2026, 3, 1) == dt.date(2026, 3, 2)  # 1 March is a Sunday
    assert nth_working_day(2026, 5, 1) == dt.date(2026, 5, 1)
    assert nth_working_day(2026, 5, 2) == dt.date(2026, 5, 5)  # over the May Day holiday
    with pytest.raises(ValueError, match="fewer than 25"):
        nth_working_day(2026, 2, 25)
    with pytest.raises(ValueError, match="counts from 1"):
        nth_working_day(2026, 2, 0)
