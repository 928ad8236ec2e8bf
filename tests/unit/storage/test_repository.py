"""Repository storage on SQLite and PostgreSQL (R-REP-1..3, R-DOC-1, R-GOV-3)."""

from __future__ import annotations

import datetime as dt

import pytest

from smki.errors import Conflict, InputError, StorageError
from smki.storage.api import CertificateFilter
from smki.storage.sql import SqlStore
from tests.unit.storage.factories import T0, add_ca, new_certificate

EUI_A = bytes.fromhex("90b3d51f30010000")
EUI_B = bytes.fromhex("90b3d51f30020000")
LATER = T0 + dt.timedelta(days=1)


def _seed(store: SqlStore) -> dict[str, int]:
    """Four certificates: in use, revoked, suspended, expired (in that id order)."""
    with store.transaction() as tx:
        ca = add_ca(tx)
        ids = tx.add_certificates(
            [
                new_certificate(ca, 0x11, eui=EUI_A, kind="organisation", role=2),
                new_certificate(ca, 0x12, eui=EUI_A),
                new_certificate(ca, 0x13, eui=EUI_B),
                new_certificate(ca, 0x14, eui=EUI_B, not_after=T0 + dt.timedelta(hours=1)),
            ],
            T0,
        )
        tx.revoke(ids[1], "keyCompromise", T0)
        assert tx.suspend_certificate(ids[2], "PMA-2026-01", "pma", T0) is not None
    return {"ca": ca, "in-use": ids[0], "revoked": ids[1], "suspended": ids[2], "expired": ids[3]}


def test_status_is_derived_in_precedence_order(store: SqlStore) -> None:
    seeded = _seed(store)
    with store.reading() as tx:
        for status in ("in-use", "revoked", "suspended", "expired"):
            found = tx.find_certificates("test", CertificateFilter(status=status), LATER)
            assert [c.id for c in found] == [seeded[status]], status
        # Before the fourth one expired it was in use.
        early = tx.find_certificates("test", CertificateFilter(status="in-use"), T0)
        assert [c.id for c in early] == [seeded["in-use"], seeded["expired"]]


def test_filters_combine_and_pages_follow_ids(store: SqlStore) -> None:
    seeded = _seed(store)
    with store.reading() as tx:
        by_eui = tx.find_certificates("test", CertificateFilter(eui=EUI_B), LATER)
        assert [c.serial for c in by_eui] == [0x13, 0x14]
        by_role = tx.find_certificates("test", CertificateFilter(role=2, eui=EUI_A), LATER)
        assert [c.serial for c in by_role] == [0x11]
        first = tx.find_certificates("test", CertificateFilter(), LATER, limit=3)
        rest = tx.find_certificates("test", CertificateFilter(), LATER, after_id=first[-1].id)
        assert [c.serial for c in first + rest] == [0x11, 0x12, 0x13, 0x14]
        assert tx.find_certificates("live", CertificateFilter(), LATER) == []
        issuer = CertificateFilter(authority_id=seeded["ca"], serial=0x12)
        assert [c.id for c in tx.find_certificates("test", issuer, LATER)] == [seeded["revoked"]]
        with pytest.raises(InputError) as refused:
            tx.find_certificates("test", CertificateFilter(status="lost"), LATER)
        assert refused.value.code == "bad-status"


def test_suspension_is_single_and_lifted_once(store: SqlStore) -> None:
    seeded = _seed(store)
    with store.transaction() as tx:
        assert tx.suspend_certificate(seeded["suspended"], "again", "pma", LATER) is None
        assert tx.lift_suspension(seeded["suspended"], "PMA-2026-02", "pma", LATER)
        assert not tx.lift_suspension(seeded["suspended"], "PMA-2026-02", "pma", LATER)
        assert tx.suspended_ids([seeded["suspended"], seeded["in-use"]]) == set()
        (record,) = tx.suspensions(seeded["suspended"])
        assert (record.decision, record.lift_decision) == ("PMA-2026-01", "PMA-2026-02")


def test_documents_are_versioned(store: SqlStore) -> None:
    with store.transaction() as tx:
        first = tx.add_document(
            "test", "device-cp", "Device CP", "text/plain", b"v1", False, "PMA-1", "dcc", T0
        )
        second = tx.add_document(
            "test", "device-cp", "Device CP", "text/plain", b"v2!", False, "PMA-2", "dcc", LATER
        )
    assert (first.version, second.version) == (1, 2)
    with store.reading() as tx:
        latest = tx.document("test", "device-cp")
        assert latest is not None and latest.content == b"v2!" and latest.size == 3
        older = tx.document("test", "device-cp", 1)
        assert older is not None and older.content == b"v1" and older.approved_by == "PMA-1"
        listing = tx.documents("test")
        assert [(d.kind, d.version, d.content) for d in listing] == [
            ("device-cp", 1, b""),
            ("device-cp", 2, b""),
        ]
        assert tx.document("live", "device-cp") is None


def test_crl_history_is_kept_by_number(store: SqlStore) -> None:
    with store.transaction() as tx:
        ca = add_ca(tx)
        for number in (1, 2, 3):
            tx.add_crl(ca, "crl", number, T0, LATER, bytes([number]) * 4)
    with store.reading() as tx:
        assert [c.number for c in tx.crls(ca, "crl")] == [1, 2, 3]
        second = tx.crl_by_number(ca, "crl", 2)
        assert second is not None and second.der == b"\x02" * 4
        assert tx.crl_by_number(ca, "arl", 2) is None
        assert len(tx.crls_between("test", None, LATER)) == 3
        assert tx.crls_between("test", LATER, LATER + dt.timedelta(days=1)) == []


def test_increments_select_by_time(store: SqlStore) -> None:
    seeded = _seed(store)
    with store.reading() as tx:
        created = tx.certificates_created("test", T0, LATER, after_id=0, limit=10)
        assert len(created) == 4
        assert tx.certificates_created("test", LATER, LATER, after_id=0, limit=10) == []
        ((row, revocation),) = tx.revocations_between("test", None, LATER)
        assert row.id == seeded["revoked"] and revocation.reason == "keyCompromise"
        assert set(tx.revocations_of([seeded["revoked"], seeded["in-use"]])) == {seeded["revoked"]}


def test_reading_refuses_writes_on_postgresql(store: SqlStore) -> None:
    if not store.url.startswith("postgresql"):
        pytest.skip("SQLite has no READ ONLY transactions; reading() is a convention there")
    with pytest.raises(StorageError), store.reading() as tx:
        add_ca(tx)


def test_sessions_end_once_and_by_officer(store: SqlStore) -> None:
    with store.transaction() as tx:
        party = tx.add_party("test", "Supplier", ["gas-supplier"], [EUI_A], T0)
        officer = tx.add_officer(party, "aro", "A. Officer", "sro", T0)
        tx.add_session(b"\x01" * 32, "test", officer, party, T0, LATER)
        tx.add_session(b"\x02" * 32, "test", officer, party, T0, LATER)
    with pytest.raises(Conflict), store.transaction() as tx:
        tx.add_session(b"\x01" * 32, "test", officer, party, T0, LATER)
    with store.transaction() as tx:
        assert tx.end_session(b"\x01" * 32, T0)
        assert not tx.end_session(b"\x01" * 32, T0)
        assert tx.end_officer_sessions(officer, T0) == 1
        found = tx.session(b"\x02" * 32)
        assert found is not None and found.ended_at == T0
