"""Batched CSR records (R-SI-2) on SQLite and PostgreSQL: items, outcomes, leases."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from smki.errors import Conflict, NotFound, StorageError
from smki.storage.api import BatchItemError, Transaction
from smki.storage.sql import SqlStore
from tests.unit.storage.factories import T0, add_ca, new_certificate

MINUTE = dt.timedelta(minutes=1)
DEADLINE = T0 + dt.timedelta(hours=23)


def _party_and_aro(tx: Transaction, env: str = "test") -> tuple[int, int]:
    party = tx.add_party(env, "Supplier", ["import-supplier"], [], T0)
    aro = tx.add_officer(party, "aro", "Alex", "ra", T0)
    return party, aro


def _batch(
    store: SqlStore,
    count: int = 5,
    *,
    env: str = "test",
    received: dt.datetime = T0,
) -> str:
    batch_id = str(uuid.uuid4())
    with store.transaction() as tx:
        party, aro = _party_and_aro(tx, env)
        csrs = [f"csr-{i}".encode() for i in range(count)]
        row = tx.add_batch(batch_id, env, party, aro, received, DEADLINE, csrs)
    assert row.id == batch_id and row.count == count and row.state == "accepted"
    return batch_id


def _certificates(store: SqlStore, count: int, first_serial: int = 0x1000) -> list[int]:
    with store.transaction() as tx:
        ca = tx.authority("test", "issuing-dca")
        authority = ca.id if ca is not None else add_ca(tx, "issuing-dca")
        return tx.add_certificates(
            [new_certificate(authority, first_serial + n) for n in range(count)], T0
        )


def test_add_and_read_a_batch(store: SqlStore) -> None:
    batch_id = _batch(store, 7)
    with store.transaction() as tx:
        got = tx.batch(batch_id)
        assert got is not None
        assert (got.env, got.state, got.count) == ("test", "accepted", 7)
        assert got.received_at == T0 and got.received_at.tzinfo is dt.UTC
        assert got.deadline == DEADLINE
        assert got.completed_at is None and got.lease_owner is None and got.lease_until is None
        items = tx.open_items(batch_id, 100)
        assert [i.idx for i in items] == list(range(7))
        assert [i.csr for i in items] == [f"csr-{n}".encode() for n in range(7)]
        assert all(i.certificate_id is None and i.error_code is None for i in items)
        assert [i.idx for i in tx.open_items(batch_id, 3)] == [0, 1, 2]
        assert [i.idx for i in tx.open_items(batch_id, 3, after=2)] == [3, 4, 5]
        assert tx.batch_counts(batch_id) == (0, 0, 7)
        assert tx.batch(str(uuid.uuid4())) is None
        assert tx.batch_counts("nope") == (0, 0, 0)


def test_a_large_batch_is_stored_in_one_transaction(store: SqlStore) -> None:
    batch_id = _batch(store, 12_345)
    with store.transaction() as tx:
        assert tx.batch_counts(batch_id) == (0, 0, 12_345)
        assert tx.open_items(batch_id, 1, after=12_343)[0].csr == b"csr-12344"


def test_a_refused_batch_leaves_nothing(store: SqlStore) -> None:
    batch_id = _batch(store, 2)
    with pytest.raises(Conflict) as info, store.transaction() as tx:
        party, aro = _party_and_aro(tx)
        tx.add_batch(batch_id, "test", party, aro, T0, DEADLINE, [b"a", b"b"])
    assert info.value.code == "duplicate-batch"
    with pytest.raises(NotFound), store.transaction() as tx:
        tx.add_batch(str(uuid.uuid4()), "test", 999, 999, T0, DEADLINE, [b"a", b"b"])
    with store.transaction() as tx:
        assert len(tx.parties()) == 1


def test_outcomes_in_input_order(store: SqlStore) -> None:
    batch_id = _batch(store, 5)
    ids = _certificates(store, 3)
    with store.transaction() as tx:
        # Written out of order; read back in input order.
        tx.set_item_results(batch_id, [(4, ids[0]), (0, ids[1])])
        tx.set_item_errors(batch_id, [(2, "wrong-curve", "P-384 key")])
    with store.transaction() as tx:
        assert tx.batch_counts(batch_id) == (2, 1, 2)
        assert [i.idx for i in tx.open_items(batch_id, 10)] == [1, 3]
        assert tx.batch_errors(batch_id) == [BatchItemError(2, "wrong-curve", "P-384 key")]
        ders = tx.batch_certificates(batch_id)
        assert ders == [tx.certificate(ids[1]).der, tx.certificate(ids[0]).der]


def test_an_item_gets_one_outcome_only(store: SqlStore) -> None:
    batch_id = _batch(store, 3)
    ids = _certificates(store, 3)
    with store.transaction() as tx:
        tx.set_item_results(batch_id, [(0, ids[0])])
        tx.set_item_errors(batch_id, [(1, "malformed-csr", "bad")])
    attempts: list[Callable[[Transaction], None]] = [
        lambda tx: tx.set_item_results(batch_id, [(2, ids[1]), (0, ids[2])]),
        lambda tx: tx.set_item_results(batch_id, [(1, ids[1])]),
        lambda tx: tx.set_item_errors(batch_id, [(0, "x", "y")]),
        lambda tx: tx.set_item_errors(batch_id, [(2, "x", "y"), (2, "x", "z")]),
        lambda tx: tx.set_item_results(batch_id, [(99, ids[1])]),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict) as info, store.transaction() as tx:
            attempt(tx)
        assert info.value.code == "batch-item-not-open"
    # The same certificate cannot answer two items.
    with pytest.raises(Conflict), store.transaction() as tx:
        tx.set_item_results(batch_id, [(2, ids[0])])
    with store.transaction() as tx:
        assert tx.batch_counts(batch_id) == (1, 1, 1)
        assert [i.idx for i in tx.open_items(batch_id, 10)] == [2]


def test_a_refused_outcome_keeps_the_transaction_usable(store: SqlStore) -> None:
    batch_id = _batch(store, 2)
    with store.transaction() as tx:
        tx.set_item_errors(batch_id, [(0, "a", "b")])
        with pytest.raises(Conflict):
            tx.set_item_errors(batch_id, [(1, "c", "d"), (0, "e", "f")])
        tx.set_item_errors(batch_id, [(1, "g", "h")])
    with store.transaction() as tx:
        assert [e.code for e in tx.batch_errors(batch_id)] == ["a", "g"]
        # The refused attempt did not move the counters (R-SI-2: status reads them).
        assert tx.batch_counts(batch_id) == (0, 2, 0)


def _recount(tx: Transaction, batch_id: str) -> tuple[int, int, int]:
    items = tx.open_items(batch_id, 1_000_000)
    failed = len(tx.batch_errors(batch_id))
    issued = len(tx.batch_certificates(batch_id))
    return issued, failed, len(items)


def test_counters_agree_with_the_items_whatever_was_refused(store: SqlStore) -> None:
    batch_id = _batch(store, 40)
    ids = _certificates(store, 30)
    with store.transaction() as tx:
        tx.set_item_results(batch_id, [(i, ids[i]) for i in range(0, 20)])
    with pytest.raises(Conflict), store.transaction() as tx:
        tx.set_item_errors(batch_id, [(25, "x", "y")])  # rolled back with the whole use case
        tx.set_item_results(batch_id, [(20, ids[20]), (0, ids[21])])
    with store.transaction() as tx:
        with pytest.raises(Conflict):
            tx.set_item_errors(batch_id, [(21, "x", "y"), (1, "x", "y")])
        tx.set_item_errors(batch_id, [(i, "malformed-csr", "bad") for i in range(30, 35)])
        tx.set_item_results(batch_id, [(i, ids[i]) for i in range(20, 30)])
    with store.transaction() as tx:
        assert tx.batch_counts(batch_id) == _recount(tx, batch_id) == (30, 5, 5)


def test_claims_take_the_oldest_free_batch(store: SqlStore) -> None:
    newer = _batch(store, 2, received=T0 + MINUTE)
    older = _batch(store, 2)
    live = _batch(store, 2, env="live", received=T0 - MINUTE)
    now = T0 + 2 * MINUTE
    with store.transaction() as tx:
        first = tx.claim_batch("runner-a", now + MINUTE, now, env="test")
        assert first is not None and first.id == older
        assert (first.state, first.lease_owner, first.lease_until) == (
            "issuing",
            "runner-a",
            now + MINUTE,
        )
    with store.transaction() as tx:
        second = tx.claim_batch("runner-b", now + MINUTE, now, env="test")
        assert second is not None and second.id == newer
        assert tx.claim_batch("runner-c", now + MINUTE, now, env="test") is None
        third = tx.claim_batch("runner-c", now + MINUTE, now)
        assert third is not None and third.id == live
    later = now + 2 * MINUTE
    with store.transaction() as tx:
        # runner-a keeps its batch by renewing; runner-b's lease ran out.
        assert tx.renew_lease(older, "runner-a", later + MINUTE)
        assert not tx.renew_lease(newer, "runner-a", later + MINUTE)
        taken = tx.claim_batch("runner-d", later + MINUTE, later, env="test")
        assert taken is not None and taken.id == newer and taken.lease_owner == "runner-d"
        assert not tx.renew_lease(newer, "runner-b", later + MINUTE)


def test_finished_batches_are_not_claimed(store: SqlStore) -> None:
    batch_id = _batch(store, 2)
    with store.transaction() as tx:
        assert tx.claim_batch("r", T0 + MINUTE, T0) is not None
        assert tx.finish_batch(batch_id, "done", T0 + MINUTE)
        assert not tx.finish_batch(batch_id, "failed", T0 + MINUTE)
        got = tx.batch(batch_id)
        assert got is not None
        assert (got.state, got.completed_at, got.lease_owner, got.lease_until) == (
            "done",
            T0 + MINUTE,
            None,
            None,
        )
        assert tx.claim_batch("r", T0 + 9 * MINUTE, T0 + 8 * MINUTE) is None
        assert not tx.renew_lease(batch_id, "r", T0 + 9 * MINUTE)
    with pytest.raises(StorageError), store.transaction() as tx:
        tx.finish_batch(batch_id, "issuing", T0)
    with pytest.raises(NotFound) as info, store.transaction() as tx:
        tx.finish_batch("missing", "done", T0)
    assert info.value.code == "unknown-batch"


def test_concurrent_claims_never_share_a_batch(store: SqlStore) -> None:
    batches = {_batch(store, 2, received=T0 + n * MINUTE) for n in range(6)}
    now = T0 + dt.timedelta(hours=1)

    def claim(owner: str) -> str | None:
        with store.transaction() as tx:
            got = tx.claim_batch(owner, now + MINUTE, now)
            return None if got is None else got.id

    with ThreadPoolExecutor(max_workers=4) as pool:
        claimed = list(pool.map(claim, [f"runner-{n}" for n in range(8)]))
    taken = [c for c in claimed if c is not None]
    assert sorted(taken) == sorted(batches)
    assert claimed.count(None) == 2


def test_postgresql_claims_skip_a_locked_batch(store: SqlStore) -> None:
    """While one transaction holds its claim uncommitted, another claims the next batch
    without waiting (FOR UPDATE SKIP LOCKED)."""
    if not store.url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers: a second claim waits for the first")
    first = _batch(store, 2)
    second = _batch(store, 2, received=T0 + MINUTE)
    now = T0 + dt.timedelta(hours=1)
    holding = threading.Event()
    release = threading.Event()
    got: dict[str, str | None] = {}

    def slow_claimer() -> None:
        with store.transaction() as tx:
            row = tx.claim_batch("slow", now + MINUTE, now)
            got["slow"] = None if row is None else row.id
            holding.set()
            assert release.wait(10)

    thread = threading.Thread(target=slow_claimer)
    thread.start()
    try:
        assert holding.wait(10)
        with store.transaction() as tx:
            row = tx.claim_batch("fast", now + MINUTE, now)
            got["fast"] = None if row is None else row.id
    finally:
        release.set()
        thread.join(10)
    assert got == {"slow": first, "fast": second}


def test_postgresql_a_racing_outcome_is_refused(store: SqlStore) -> None:
    """Two transactions settle the same item: the second waits, re-checks, and is refused."""
    if not store.url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers")
    batch_id = _batch(store, 1)
    ids = _certificates(store, 2)
    holding = threading.Event()
    release = threading.Event()

    def first() -> None:
        with store.transaction() as tx:
            tx.set_item_results(batch_id, [(0, ids[0])])
            holding.set()
            assert release.wait(10)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert holding.wait(10)
        timer = threading.Timer(0.3, release.set)
        timer.start()
        with pytest.raises(Conflict), store.transaction() as tx:
            tx.set_item_results(batch_id, [(0, ids[1])])
    finally:
        release.set()
        thread.join(10)
    with store.transaction() as tx:
        assert tx.batch_certificates(batch_id) == [tx.certificate(ids[0]).der]
