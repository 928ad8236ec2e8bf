"""Injectable time source (R-X-4). Everything stored is UTC."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


def parse_utc(text: str) -> dt.datetime:
    """ISO 8601 text (``2025-10-01T12:00:00Z``, ``2025-10-01``) as an aware UTC time; text
    without an offset is UTC, as everywhere in smki. ValueError when it is not ISO 8601."""
    when = dt.datetime.fromisoformat(text)
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FixedClock:
    """A clock for tests: stands still until moved."""

    def __init__(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at.astimezone(dt.UTC)

    def now(self) -> dt.datetime:
        return self._at

    def advance(self, delta: dt.timedelta) -> None:
        self._at += delta

    def set(self, at: dt.datetime) -> None:
        self._at = at.astimezone(dt.UTC)
