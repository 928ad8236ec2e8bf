"""Revocation, CRLs and ARLs (R-SI-4, R-REP-5)."""

from __future__ import annotations

import datetime as dt

import pytest

from smki.errors import Conflict, NotFound
from smki.storage.sql import SqlStore
from tests.unit.storage.factories import T0, add_ca, new_certificate


def test_revoke_is_conditional(store: SqlStore) -> None:
    with store.transaction() as tx:
        ca = add_ca(tx)
        (cert,) = tx.add_certificates([new_certificate(ca, 0x11 << 120, kind="organisation")], T0)
    with store.transaction() as tx:
        assert tx.revoke(cert, "keyCompromise", T0) is True
        tx.audit("ra", "certificate.revoke", str(cert), {"reason": "keyCompromise"})
    with store.transaction() as tx:
        assert tx.revoke(cert, "superseded", T0 + dt.timedelta(hours=1)) is False
        assert tx.certificate(cert).status == "revoked"
        (entry,) = tx.revoked_entries(ca, None)
        assert (entry.serial, entry.reason, entry.revoked_at) == (0x11 << 120, "keyCompromise", T0)
        assert entry.revoked_at.tzinfo is dt.UTC
        with pytest.raises(NotFound):
            tx.revoke(cert + 1, "keyCompromise", T0)


def test_revoked_entries_filter_by_kind_and_issuer(store: SqlStore) -> None:
    with store.transaction() as tx:
        ca = add_ca(tx, "root-oca")
        other = add_ca(tx, "root-dca")
        kinds = ["organisation", "issuing-oca", "organisation", "device", "issuing-oca"]
        ids = tx.add_certificates(
            [new_certificate(ca, 100 + i, kind=k) for i, k in enumerate(kinds)], T0
        )
        (foreign,) = tx.add_certificates([new_certificate(other, 100, kind="organisation")], T0)
        for n, cert in enumerate([*ids[:4], foreign]):
            tx.revoke(cert, "superseded", T0 + dt.timedelta(minutes=n))
    with store.transaction() as tx:
        assert [e.serial for e in tx.revoked_entries(ca, None)] == [100, 101, 102, 103]
        assert [e.serial for e in tx.revoked_entries(ca, ["organisation"])] == [100, 102]
        assert [e.serial for e in tx.revoked_entries(ca, ["issuing-oca"])] == [101]
        assert [e.serial for e in tx.revoked_entries(ca, None, ["issuing-oca"])] == [100, 102, 103]
        assert [e.serial for e in tx.revoked_entries(ca, None, ["issuing-oca", "device"])] == [
            100,
            102,
        ]
        assert tx.revoked_entries(ca, []) == []
        assert [e.serial for e in tx.revoked_entries(other, None)] == [100]


def test_crl_numbers_and_latest(store: SqlStore) -> None:
    with store.transaction() as tx:
        ca = add_ca(tx)
        assert tx.next_crl_number(ca, "crl") == 1
        assert tx.latest_crl(ca, "crl") is None
        for n in (1, 2, 3):
            tx.add_crl(ca, "crl", n, T0, T0 + dt.timedelta(days=n), b"crl-%d" % n)
        tx.add_crl(ca, "arl", 1, T0, T0 + dt.timedelta(days=30), b"arl-1")
    with store.transaction() as tx:
        assert tx.next_crl_number(ca, "crl") == 4
        assert tx.next_crl_number(ca, "arl") == 2
        latest = tx.latest_crl(ca, "crl")
        assert latest is not None
        assert (latest.number, latest.der, latest.list_kind, latest.authority_id) == (
            3,
            b"crl-3",
            "crl",
            ca,
        )
        assert latest.next_update == T0 + dt.timedelta(days=3)
        assert latest.this_update.tzinfo is dt.UTC
    with pytest.raises(Conflict) as info, store.transaction() as tx:
        tx.add_crl(ca, "crl", 3, T0, T0, b"again")
    assert info.value.code == "duplicate-crl-number"
