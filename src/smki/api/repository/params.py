"""Small conversions shared by the repository endpoints: path numbers in, times out."""

from __future__ import annotations

import datetime as dt
from typing import Final

from smki.errors import InputError

#: CRL numbers and document versions are stored as 64-bit integers: a longer number cannot
#: name anything stored, and must not reach the database.
_MAX_NUMBER_DIGITS: Final = 18


def parse_number(text: str, what: str, rid: str) -> int:
    """A positive whole number from a path segment; 400 ``bad-number`` otherwise."""
    # ASCII digits only: str.isdigit also takes other scripts' digits, which int() reads.
    if not (text.isascii() and text.isdigit()) or len(text) > _MAX_NUMBER_DIGITS or int(text) < 1:
        raise InputError(f"{what} must be a positive whole number", code="bad-number", rid=rid)
    return int(text)


def iso(moment: dt.datetime) -> str:
    """UTC, ISO 8601 with ``Z``, as the certificate views write times."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
