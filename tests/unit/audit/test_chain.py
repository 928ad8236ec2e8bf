"""The audit hash (R-X-1): a fixed, unambiguous encoding."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from smki.audit.chain import GENESIS_HASH, canonical_json, event_hash, format_time

AT = dt.datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)


def _expected(fields: list[bytes]) -> bytes:
    h = hashlib.sha256(b"smki-audit-v1\x00")
    for f in fields:
        h.update(len(f).to_bytes(8, "big") + f)
    return h.digest()


def test_hash_follows_the_documented_encoding() -> None:
    got = event_hash(1, AT, "ceremony", "init", "test", '{"a":1}', GENESIS_HASH)
    assert got == _expected(
        [b"1", b"2025-01-02T03:04:05.000006Z", b"ceremony", b"init", b"test", b'{"a":1}', bytes(32)]
    )


def test_field_boundaries_are_unambiguous() -> None:
    a = event_hash(1, AT, "ab", "c", "s", "{}", GENESIS_HASH)
    b = event_hash(1, AT, "a", "bc", "s", "{}", GENESIS_HASH)
    assert a != b


def test_every_field_counts() -> None:
    later = AT + dt.timedelta(microseconds=1)
    hashes = {
        event_hash(1, AT, "a", "b", "c", "{}", GENESIS_HASH),
        event_hash(2, AT, "a", "b", "c", "{}", GENESIS_HASH),
        event_hash(1, later, "a", "b", "c", "{}", GENESIS_HASH),
        event_hash(1, AT, "x", "b", "c", "{}", GENESIS_HASH),
        event_hash(1, AT, "a", "x", "c", "{}", GENESIS_HASH),
        event_hash(1, AT, "a", "b", "x", "{}", GENESIS_HASH),
        event_hash(1, AT, "a", "b", "c", '{"x":1}', GENESIS_HASH),
        event_hash(1, AT, "a", "b", "c", "{}", b"\x01" * 32),
    }
    assert len(hashes) == 8


def test_time_is_normalised_to_utc_and_naive_refused() -> None:
    plus_one = AT.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert format_time(plus_one) == "2025-01-02T03:04:05.000006Z"
    assert event_hash(1, plus_one, "a", "b", "c", "{}", GENESIS_HASH) == event_hash(
        1, AT, "a", "b", "c", "{}", GENESIS_HASH
    )
    with pytest.raises(ValueError):
        format_time(AT.replace(tzinfo=None))
    with pytest.raises(ValueError):
        event_hash(1, AT, "a", "b", "c", "{}", b"short")


def test_canonical_json() -> None:
    assert canonical_json({"b": [1, {"d": None, "c": True}], "a": "é"}) == (
        '{"a":"é","b":[1,{"c":true,"d":null}]}'
    )
    for bad in ({"x": b"1"}, {"x": float("inf")}, {"x": AT}):
        with pytest.raises((TypeError, ValueError)):
            canonical_json(bad)
