"""Issuance records (R-CA-4, R-PROF-3): intents, bulk certificates, serial uniqueness."""

from __future__ import annotations

import datetime as dt
import random
import time

import pytest

from smki.errors import Conflict, NotFound, StorageError
from smki.storage.sql import SqlStore
from tests.unit.storage.factories import FOREVER, T0, add_ca, new_certificate, tbs_digest

BULK = 2000


def _serials(n: int, seed: int = 7) -> list[int]:
    rng = random.Random(seed)
    # R-PROF-3 serials (16 octets, first octet 0x10-0x7F) plus the edges of what is storable.
    edge = [1, 2**127, 2**127 - 1, 2**128 - 1]
    rest = {rng.randrange(0x10 << 120, 0x80 << 120) for _ in range(n)}
    return edge + sorted(rest - set(edge))[: n - len(edge)]


def test_bulk_reserve_then_store_round_trips(store: SqlStore) -> None:
    serials = _serials(BULK)
    at = dt.datetime(2025, 3, 1, 10, 0, 0, 654321, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    started = time.perf_counter()
    with store.transaction() as tx:
        ca = add_ca(tx)
        intents = tx.reserve_intents(ca, [(s, "device", tbs_digest(s)) for s in serials], at)
        tx.audit("ra", "batch.intents", "batch-1", {"count": len(intents)})
    assert len(intents) == BULK and len(set(intents)) == BULK
    with store.transaction() as tx:
        pending = tx.pending_intents()
        assert [p.id for p in pending] == intents
        assert [p.serial for p in pending] == serials
        assert pending[0].tbs_sha256 == tbs_digest(serials[0])
        assert pending[0].created_at == at and pending[0].created_at.tzinfo is dt.UTC

        rows = [new_certificate(ca, s, intent_id=i) for s, i in zip(serials, intents, strict=True)]
        ids = tx.add_certificates(rows, T0)
        tx.audit("ca", "batch.stored", "batch-1", {"count": len(ids)})
    elapsed = time.perf_counter() - started
    assert elapsed < 30, f"{BULK} intents and certificates took {elapsed:.1f}s"

    with store.transaction() as tx:
        assert tx.pending_intents() == []
        assert tx.count_certificates() == BULK
        assert tx.count_certificates("test") == BULK
        assert tx.count_certificates("live") == 0
        for serial, intent, cert_id, row in zip(serials, intents, ids, rows, strict=True):
            got = tx.certificate(cert_id)
            assert got.serial == serial
            assert (got.env, got.authority_id, got.kind, got.status) == (
                "test",
                ca,
                "device",
                "in-use",
            )
            assert (got.subject_eui, got.ski, got.der, got.role) == (
                row.subject_eui,
                row.ski,
                row.der,
                None,
            )
            assert got.not_before == T0 and got.not_before.tzinfo is dt.UTC
            assert got.not_after == FOREVER and got.not_after.tzinfo is dt.UTC
            assert got.created_at == T0
            if serial in (2**127, 2**128 - 1, 1):
                assert [c.id for c in tx.certificate_by_serial("test", serial)] == [cert_id]
                for_intent = tx.certificate_for_intent(intent)
                assert for_intent is not None and for_intent.id == cert_id


def test_duplicate_serial_rolls_back_the_whole_use_case(store: SqlStore) -> None:
    with store.transaction() as tx:
        ca = add_ca(tx)
    head_before = store.audit_head()
    serials = _serials(50)
    with pytest.raises(Conflict) as info, store.transaction() as tx:
        tx.audit("ra", "batch.intents", "batch-2", {"count": 50})
        tx.reserve_intents(ca, [(s, "device", tbs_digest(s)) for s in serials], T0)
        tx.add_certificates([new_certificate(ca, 0x20 << 120)], T0)
        tx.reserve_intents(ca, [(serials[10], "device", b"again")], T0)
    assert info.value.code == "duplicate-serial"
    assert store.audit_head() == head_before
    assert list(store.audit_events()) == []
    with store.transaction() as tx:
        assert tx.pending_intents() == []
        assert tx.count_certificates() == 0


@pytest.mark.parametrize("where", ["intent", "certificate", "same-batch"])
def test_serial_already_used_by_issuer_is_refused(store: SqlStore, where: str) -> None:
    serial = 0x42 << 120
    with store.transaction() as tx:
        ca = add_ca(tx)
        other = add_ca(tx, "issuing-dca")
        if where == "intent":
            tx.reserve_intents(ca, [(serial, "device", b"1")], T0)
        elif where == "certificate":
            tx.add_certificates([new_certificate(ca, serial)], T0)
        # The same serial under another issuer is fine: uniqueness is per issuer.
        tx.reserve_intents(other, [(serial, "device", b"1")], T0)
    items = [(serial + 1, "device", b"2"), (serial, "device", b"3")]
    if where == "same-batch":
        items.append((serial, "device", b"4"))
    with pytest.raises(Conflict) as info, store.transaction() as tx:
        tx.reserve_intents(ca, items, T0)
    assert info.value.code == "duplicate-serial"
    with store.transaction() as tx:
        assert {p.serial for p in tx.pending_intents() if p.authority_id == ca} == (
            {serial} if where == "intent" else set()
        )


def test_duplicate_certificate_serial_is_a_conflict(store: SqlStore) -> None:
    with store.transaction() as tx:
        ca = add_ca(tx)
        tx.add_certificates([new_certificate(ca, 77)], T0)
    with pytest.raises(Conflict) as info, store.transaction() as tx:
        tx.add_certificates([new_certificate(ca, 78), new_certificate(ca, 77)], T0)
    assert info.value.code == "duplicate-serial"
    assert "77" not in info.value.detail and "4d" not in info.value.detail
    with store.transaction() as tx:
        assert tx.count_certificates() == 1


def test_finish_intents_only_touches_pending_ones(store: SqlStore) -> None:
    with store.transaction() as tx:
        ca = add_ca(tx)
        a, b, c = tx.reserve_intents(ca, [(s, "device", b"") for s in (1, 2, 3)], T0)
        tx.finish_intents([a], "abandoned", T0)
        tx.finish_intents([a, b], "done", T0)  # a stays abandoned
    with store.transaction() as tx:
        assert [p.id for p in tx.pending_intents()] == [c]
        # A certificate for an abandoned intent must never be stored (R-CA-4).
        with pytest.raises(Conflict) as info:
            tx.add_certificates([new_certificate(ca, 1, intent_id=a)], T0)
        assert info.value.code == "intent-not-pending"
        with pytest.raises(Conflict) as info:
            tx.add_certificates([new_certificate(ca, 4, intent_id=c)], T0)
        assert info.value.code == "intent-mismatch"
        with pytest.raises(NotFound):
            tx.add_certificates([new_certificate(ca, 3, intent_id=c + 100)], T0)
        with pytest.raises(StorageError):
            tx.finish_intents([c], "pending", T0)


def test_unknown_certificate_and_issuer(store: SqlStore) -> None:
    with store.transaction() as tx:
        ca = add_ca(tx)
        assert tx.certificate_by_serial("test", 5) == []
        assert tx.certificate_by_serial("test", 2**200) == []
        assert tx.certificate_for_intent(1) is None
        with pytest.raises(NotFound):
            tx.certificate(1)
        with pytest.raises(NotFound):
            tx.add_certificates([new_certificate(ca + 1, 5)], T0)
    with pytest.raises(NotFound), store.transaction() as tx:
        tx.reserve_intents(ca + 1, [(5, "device", b"")], T0)


def test_same_serial_under_two_issuers_is_found_twice(store: SqlStore) -> None:
    with store.transaction() as tx:
        a = add_ca(tx)
        b = add_ca(tx, "issuing-dca")
        ids = tx.add_certificates([new_certificate(a, 9), new_certificate(b, 9)], T0)
        assert [c.id for c in tx.certificate_by_serial("test", 9)] == ids
        assert tx.certificate_by_serial("live", 9) == []
        assert tx.add_certificates([], T0) == [] and tx.reserve_intents(a, [], T0) == []
