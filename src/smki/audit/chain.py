"""The audit hash chain (R-X-1).

Each event's hash is SHA-256 over an unambiguous encoding of the event and the previous event's
hash, so editing, inserting or deleting any event breaks the chain from that point on. The
encoding is:

    b"smki-audit-v1\\x00"
    then for each field, in order: its length as 8 octets big-endian, then its octets
      seq          decimal ASCII
      at           ISO-8601 UTC with microseconds, e.g. "2025-01-02T03:04:05.000006Z"
      actor        UTF-8
      action       UTF-8
      subject      UTF-8
      details      canonical JSON (sorted keys, no spaces, UTF-8, no NaN)
      prev_hash    32 raw octets; the first event uses 32 zero octets

Length prefixes (rather than separators) mean no choice of field contents can make two
different events encode to the same octets. This module is pure: no SQL, no I/O, so the
store (which writes events) and the verifier (which checks them) share one definition.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

#: prev_hash of the first event.
GENESIS_HASH = bytes(32)

_DOMAIN = b"smki-audit-v1\x00"


def canonical_json(details: dict[str, Any]) -> str:
    """The one text form of ``details`` that is stored and hashed.

    Raises TypeError or ValueError if ``details`` holds something JSON cannot carry exactly
    (bytes, datetimes, NaN, …): callers must encode such values first.
    """
    if not isinstance(details, dict):
        raise TypeError("audit details must be a JSON object")
    return json.dumps(
        details, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def format_time(at: dt.datetime) -> str:
    """ISO-8601 UTC with microseconds and a ``Z`` suffix; naive datetimes are refused."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("audit time must be timezone-aware")
    u = at.astimezone(dt.UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T"
        f"{u.hour:02d}:{u.minute:02d}:{u.second:02d}.{u.microsecond:06d}Z"
    )


def event_hash(
    seq: int,
    at: dt.datetime,
    actor: str,
    action: str,
    subject: str,
    details_json: str,
    prev_hash: bytes,
) -> bytes:
    """SHA-256 of the canonical encoding of one event (see the module docstring)."""
    if len(prev_hash) != 32:
        raise ValueError("prev_hash must be 32 octets")
    fields = (
        str(seq).encode("ascii"),
        format_time(at).encode("ascii"),
        actor.encode("utf-8"),
        action.encode("utf-8"),
        subject.encode("utf-8"),
        details_json.encode("utf-8"),
        prev_hash,
    )
    h = hashlib.sha256(_DOMAIN)
    for field in fields:
        h.update(len(field).to_bytes(8, "big"))
        h.update(field)
    return h.digest()
