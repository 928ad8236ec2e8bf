"""Failures are smki errors with safe details, and nothing half-written remains (R-X-2)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from smki.errors import Conflict, StorageError
from smki.storage.sql import SqlStore, default_sqlite_url, open_store
from tests.unit.storage.factories import T0, add_ca, new_certificate

SECRET_ISH = "do-not-leak-7f3a"


def test_naive_datetimes_are_refused(store: SqlStore) -> None:
    with store.transaction() as tx:
        ca = add_ca(tx)
    with pytest.raises(StorageError) as info, store.transaction() as tx:
        tx.reserve_intents(ca, [(5, "device", b"")], dt.datetime(2025, 1, 1))
    assert info.value.code == "unstorable-value"
    with store.transaction() as tx:
        assert tx.pending_intents() == []


@pytest.mark.parametrize("serial", [0, -1, 2**128])
def test_unstorable_serials_are_refused(store: SqlStore, serial: int) -> None:
    with store.transaction() as tx:
        ca = add_ca(tx)
    with pytest.raises(StorageError) as info, store.transaction() as tx:
        tx.reserve_intents(ca, [(serial, "device", b"")], T0)
    assert info.value.code == "unstorable-value"
    with pytest.raises(StorageError) as info, store.transaction() as tx:
        tx.add_certificates([new_certificate(ca, serial)], T0)
    assert info.value.code == "unstorable-value"


def test_conflict_detail_does_not_quote_row_values(store: SqlStore) -> None:
    with store.transaction() as tx:
        ca = add_ca(tx)
        tx.add_certificates([new_certificate(ca, 5, kind=SECRET_ISH)], T0)
    with pytest.raises(Conflict) as info, store.transaction() as tx:
        tx.add_certificates([new_certificate(ca, 5, kind=SECRET_ISH)], T0)
    assert SECRET_ISH not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_exception_in_the_body_rolls_back(store: SqlStore) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        add_ca(tx)
        tx.audit("ceremony", "authority.add", "test/issuing-oca", {})
        raise RuntimeError("boom")
    assert store.audit_head() is None
    with store.transaction() as tx:
        assert tx.authorities() == []


def test_audit_details_must_be_json(store: SqlStore) -> None:
    with pytest.raises(StorageError) as info, store.transaction() as tx:
        tx.audit("ra", "x", "y", {"raw": b"\x00"})
    assert info.value.code == "bad-audit-details"
    with pytest.raises(StorageError), store.transaction() as tx:
        tx.audit("ra", "x", "y", {"n": float("nan")})


def test_unreachable_database_raises_storage_error() -> None:
    # Port 1 refuses connections: the store must say so, never answer as if empty.
    store = SqlStore(f"postgresql://postgres:{SECRET_ISH}@127.0.0.1:1/none")
    try:
        with pytest.raises(StorageError) as info, store.transaction():
            pass
        assert info.value.code == "unavailable"
        assert SECRET_ISH not in str(info.value)
        with pytest.raises(StorageError):
            store.audit_head()
    finally:
        store.close()


def test_unsupported_url_is_refused() -> None:
    with pytest.raises(StorageError) as info:
        SqlStore("mysql://localhost/x")
    assert info.value.code == "bad-url"
    with pytest.raises(StorageError):
        SqlStore("not a url")


def test_default_sqlite_url_opens_a_wal_database(tmp_path: Path) -> None:
    url = default_sqlite_url(tmp_path)
    assert url == f"sqlite:///{tmp_path}/smki.db"
    with open_store(url) as store, store.transaction() as tx:
        tx.set_meta("k", "v")
    assert (tmp_path / "smki.db").exists()
    assert (tmp_path / "smki.db").read_bytes()[18:20] == b"\x02\x02"  # WAL read/write versions
