"""Point reads (Store.look_up): one statement outside any transaction, the same rows as the
listing inside one, on SQLite and PostgreSQL (R-REP-4)."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
import sqlalchemy as sa

from smki.errors import StorageError
from smki.storage.api import CertificateFilter, point_field
from smki.storage.sql import SqlStore, open_store
from tests.unit.storage.factories import T0, add_ca, new_certificate

EUI = bytes.fromhex("90b3d51f30010000")
OTHER_EUI = bytes.fromhex("90b3d51f30020000")
LATER = T0 + dt.timedelta(days=1)


def _seed(store: SqlStore) -> list[int]:
    with store.transaction() as tx:
        ca = add_ca(tx)
        ids = tx.add_certificates(
            [
                new_certificate(ca, 0x21, eui=EUI, kind="organisation", role=2),
                new_certificate(ca, 0x22, eui=EUI),
                new_certificate(ca, 0x23, eui=EUI),
                new_certificate(ca, 0x24, eui=OTHER_EUI),
            ],
            T0,
        )
        tx.revoke(ids[1], "keyCompromise", T0)
        assert tx.suspend_certificate(ids[2], "PMA-2026-07", "pma", T0) is not None
    return ids


@pytest.mark.parametrize(
    "wanted",
    [
        CertificateFilter(eui=EUI),
        CertificateFilter(eui=OTHER_EUI),
        CertificateFilter(eui=bytes(8)),
        CertificateFilter(serial=0x22),
        CertificateFilter(serial=0x23),
        CertificateFilter(serial=0x99),
        CertificateFilter(serial=1 << 200),  # wider than any stored serial: nothing
    ],
)
def test_a_point_read_returns_what_the_listing_does(
    store: SqlStore, wanted: CertificateFilter
) -> None:
    _seed(store)
    with store.reading() as tx:
        listed = tx.list_certificates("test", wanted, LATER, limit=10)
    assert store.look_up("test", wanted, limit=10) == listed
    assert store.look_up("live", wanted, limit=10) == []


def test_a_point_read_sees_revocation_suspension_and_limit(store: SqlStore) -> None:
    ids = _seed(store)
    found = store.look_up("test", CertificateFilter(eui=EUI), limit=2)
    assert [item.row.id for item in found] == ids[:2]
    revoked = found[1]
    assert revoked.revocation is not None and revoked.revocation.reason == "keyCompromise"
    (suspended,) = store.look_up("test", CertificateFilter(serial=0x23), limit=5)
    assert suspended.suspended and suspended.revocation is None
    # Committed changes are seen at once: no snapshot outlives its statement.
    with store.transaction() as tx:
        assert tx.lift_suspension(ids[2], "PMA-2026-08", "pma", LATER)
    (lifted,) = store.look_up("test", CertificateFilter(serial=0x23), limit=5)
    assert not lifted.suspended
    assert lifted.row.not_after.tzinfo is not None and lifted.row.created_at == T0


def test_only_a_serial_or_an_eui_alone_is_a_point_read(store: SqlStore) -> None:
    assert point_field(CertificateFilter(serial=1)) == "serial"
    assert point_field(CertificateFilter(eui=EUI)) == "eui"
    assert point_field(CertificateFilter(serial=1, authority_id=2)) is None
    assert point_field(CertificateFilter(eui=EUI, status="revoked")) is None
    assert point_field(CertificateFilter()) is None
    with pytest.raises(ValueError, match="alone"):
        store.look_up("test", CertificateFilter(eui=EUI, role=2), limit=1)


def test_a_point_read_survives_a_lost_connection(store: SqlStore) -> None:
    if not store.url.startswith("postgresql"):
        pytest.skip("only a server's connection can be ended from outside")
    _seed(store)
    assert len(store.look_up("test", CertificateFilter(eui=EUI), limit=5)) == 3
    url = store.url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(url, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND query LIKE '%certificate_suspensions%'"
        ).fetchall()
    assert ended, "the point read's connection was not found"
    assert len(store.look_up("test", CertificateFilter(eui=EUI), limit=5)) == 3


def test_many_keys_in_one_read_answer_each_as_alone(store: SqlStore) -> None:
    _seed(store)
    serials = [0x23, 0x99, 0x21, 0x23, 1 << 200, 0x24]
    many = store.look_up_many("test", "serial", serials, limit=2)
    assert many == [store.look_up("test", CertificateFilter(serial=s), limit=2) for s in serials]
    assert [len(found) for found in many] == [1, 0, 1, 1, 0, 1]
    euis = [EUI, bytes(8), OTHER_EUI]
    by_eui = store.look_up_many("test", "eui", euis, limit=2)
    assert by_eui == [store.look_up("test", CertificateFilter(eui=e), limit=2) for e in euis]
    # The limit holds per key: EUI has three certificates.
    assert [len(found) for found in by_eui] == [2, 0, 1]
    # More keys than one statement takes are read in several.
    lots = [0x21 + i for i in range(70)]
    assert [len(f) for f in store.look_up_many("test", "serial", lots, limit=2)][:5] == [
        1,
        1,
        1,
        1,
        0,
    ]
    with pytest.raises(ValueError, match="point read"):
        store.look_up_many("test", "role", [2], limit=1)


def test_no_connection_is_unavailable_and_a_closed_store_reads_nothing(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(database_url)
    try:

        def exhausted() -> None:
            raise sa.exc.TimeoutError("QueuePool limit reached")

        monkeypatch.setattr(store._engine, "raw_connection", exhausted)
        with pytest.raises(StorageError) as refused:
            store.look_up("test", CertificateFilter(eui=EUI), limit=5)
        assert refused.value.code == "unavailable"
        monkeypatch.undo()
        assert store.look_up("test", CertificateFilter(eui=EUI), limit=5) == []
    finally:
        store.close()
    with pytest.raises(StorageError) as closed:
        store.look_up("test", CertificateFilter(eui=EUI), limit=5)
    assert closed.value.code == "unavailable"
