"""The audit chain verifier (R-X-1) catches every edit, insertion and deletion.

Tampering is done with SQL straight on the database, as an attacker with database access would;
the verifier itself only reads through the Store protocol.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from smki.audit.chain import canonical_json, event_hash
from smki.audit.verify import (
    BROKEN_LINK,
    HASH_MISMATCH,
    HEAD_MISMATCH,
    SEQUENCE_GAP,
    verify_chain,
)
from smki.clock import FixedClock
from smki.storage import schema
from smki.storage.engine import make_engine
from smki.storage.sql import SqlStore, open_store
from tests.fixtures.stores import assert_audit_chain_ok

N = 10
T0 = dt.datetime(2025, 6, 1, 12, 0, 0, tzinfo=dt.UTC)


@dataclass
class Log:
    store: SqlStore
    engine: sa.Engine

    def sql(self, statement: str, **params: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(statement), params)

    def row(self, seq: int) -> sa.Row[object]:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT * FROM audit_events WHERE seq = :seq"), {"seq": seq}
            ).one()

    def forge(self, seq: int, prev_seq: int) -> None:
        """Insert a well-formed event at ``seq`` chained after ``prev_seq``."""
        prev_hash = bytes(self.row(prev_seq).hash)
        details = canonical_json({"forged": True})
        at = T0 + dt.timedelta(days=1)
        digest = event_hash(seq, at, "mallory", "x", "y", details, prev_hash)
        with self.engine.begin() as conn:
            conn.execute(
                schema.audit_events.insert().values(
                    seq=seq,
                    at=at,
                    actor="mallory",
                    action="x",
                    subject="y",
                    details=details,
                    prev_hash=prev_hash,
                    hash=digest,
                )
            )


def _append(store: SqlStore, count: int, actor: str = "ra") -> list[int]:
    seqs = []
    for n in range(count):
        with store.transaction() as tx:
            seqs.append(tx.audit(actor, "event.test", f"subject-{n}", {"n": n, "who": actor}))
    return seqs


@pytest.fixture
def log(database_url: str) -> Iterator[Log]:
    clock = FixedClock(T0)
    store = open_store(database_url, clock=clock)
    engine = make_engine(database_url)
    try:
        for n in range(N):
            clock.advance(dt.timedelta(seconds=1, microseconds=7))
            with store.transaction() as tx:
                tx.audit("ra", "event.test", f"subject-{n}", {"n": n})
        assert_audit_chain_ok(store)
        yield Log(store, engine)
    finally:
        engine.dispose()
        store.close()


def test_empty_log_verifies(store: SqlStore) -> None:
    assert store.audit_head() is None
    result = verify_chain(store)
    assert (result.ok, result.checked, result.first_bad_seq, result.reason) == (True, 0, None, "ok")


def test_many_events_verify(store: SqlStore) -> None:
    # More than one page of the store's reader, in batches of 150 events per transaction.
    total = 0
    for batch in range(8):
        with store.transaction() as tx:
            for n in range(150):
                total += 1
                assert tx.audit("ca", "certificate.issue", f"{batch}/{n}", {"n": n}) == total
    events = list(store.audit_events())
    assert [e.seq for e in events] == list(range(1, total + 1))
    assert store.audit_head() == (total, events[-1].hash)
    assert events[3].details == {"n": 3} and events[3].at.tzinfo is dt.UTC
    result = verify_chain(store)
    assert result.ok and result.checked == total


def _swap(log: Log, a: int, b: int, columns: list[str]) -> None:
    ra, rb = log.row(a), log.row(b)
    assignments = ", ".join(f"{c} = :{c}" for c in columns)
    for seq, source in ((a, rb), (b, ra)):
        values = {c: getattr(source, c) for c in columns}
        log.sql(f"UPDATE audit_events SET {assignments} WHERE seq = :seq", seq=seq, **values)


def _renumber_and_forge(log: Log) -> None:
    # Two steps so that no intermediate state violates the primary key.
    log.sql("UPDATE audit_events SET seq = -(seq + 1) WHERE seq >= 5")
    log.sql("UPDATE audit_events SET seq = -seq WHERE seq < 0")
    log.forge(5, prev_seq=4)


CONTENT = ["at", "actor", "action", "subject", "details"]
TAMPERING: dict[str, tuple[Callable[[Log], None], str, int]] = {
    "edit details": (
        lambda g: g.sql("UPDATE audit_events SET details = :d WHERE seq = 5", d='{"n":999}'),
        HASH_MISMATCH,
        5,
    ),
    "re-space details, same meaning": (
        lambda g: g.sql("UPDATE audit_events SET details = :d WHERE seq = 5", d='{"n": 4}'),
        HASH_MISMATCH,
        5,
    ),
    "details no longer JSON": (
        lambda g: g.sql("UPDATE audit_events SET details = 'garbage' WHERE seq = 5"),
        HASH_MISMATCH,
        5,
    ),
    "edit actor": (
        lambda g: g.sql("UPDATE audit_events SET actor = 'mallory' WHERE seq = 5"),
        HASH_MISMATCH,
        5,
    ),
    "edit time": (lambda g: _swap(g, 5, 6, ["at"]), HASH_MISMATCH, 5),
    "edit stored hash": (
        lambda g: g.sql("UPDATE audit_events SET hash = prev_hash WHERE seq = 7"),
        HASH_MISMATCH,
        7,
    ),
    "edit prev_hash": (
        lambda g: g.sql("UPDATE audit_events SET prev_hash = hash WHERE seq = 5"),
        BROKEN_LINK,
        5,
    ),
    "delete a middle event": (
        lambda g: g.sql("DELETE FROM audit_events WHERE seq = 5"),
        SEQUENCE_GAP,
        5,
    ),
    "delete the first event": (
        lambda g: g.sql("DELETE FROM audit_events WHERE seq = 1"),
        SEQUENCE_GAP,
        1,
    ),
    "delete the last event": (
        lambda g: g.sql(f"DELETE FROM audit_events WHERE seq = {N}"),
        HEAD_MISMATCH,
        N,
    ),
    "delete the last two events": (
        lambda g: g.sql(f"DELETE FROM audit_events WHERE seq >= {N - 1}"),
        HEAD_MISMATCH,
        N - 1,
    ),
    "delete every event": (lambda g: g.sql("DELETE FROM audit_events"), HEAD_MISMATCH, 1),
    "insert a forged event in the middle": (_renumber_and_forge, BROKEN_LINK, 6),
    "append a forged event behind the head": (
        lambda g: g.forge(N + 1, prev_seq=N),
        HEAD_MISMATCH,
        N + 1,
    ),
    "swap two events' content": (lambda g: _swap(g, 3, 4, CONTENT), HASH_MISMATCH, 3),
    "swap two whole events": (
        lambda g: _swap(g, 3, 4, [*CONTENT, "prev_hash", "hash"]),
        BROKEN_LINK,
        3,
    ),
    "edit the head's hash": (
        lambda g: g.sql(
            f"UPDATE audit_head SET hash = (SELECT prev_hash FROM audit_events WHERE seq = {N})"
        ),
        HEAD_MISMATCH,
        N,
    ),
    "roll the head back": (
        lambda g: g.sql(f"UPDATE audit_head SET seq = {N - 1}"),
        HEAD_MISMATCH,
        N - 1,
    ),
    "delete the head": (lambda g: g.sql("DELETE FROM audit_head"), HEAD_MISMATCH, 1),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_tampering_is_detected(log: Log, case: str) -> None:
    tamper, reason, first_bad = TAMPERING[case]
    tamper(log)
    result = verify_chain(log.store)
    assert (result.ok, result.reason, result.first_bad_seq) == (False, reason, first_bad), (
        result.detail
    )
    if reason != HEAD_MISMATCH:
        assert result.checked == first_bad - 1
    assert result.detail


def test_appending_after_the_head_is_deleted_fails_closed(log: Log) -> None:
    log.sql("DELETE FROM audit_head")
    with pytest.raises(Exception, match="audit log head is missing"), log.store.transaction() as tx:
        tx.audit("ra", "x", "y", {})


def test_concurrent_appends_keep_one_chain(database_url: str) -> None:
    # Two independent stores (as two service processes would have) appending at once.
    stores = [open_store(database_url) for _ in range(2)]
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(_append, s, 200, f"worker-{i}") for i, s in enumerate(stores)]
            seqs = [f.result() for f in futures]
        assert sorted(seqs[0] + seqs[1]) == list(range(1, 401))
        assert all(a < b for part in seqs for a, b in itertools.pairwise(part))
        result = verify_chain(stores[0])
        assert result.ok and result.checked == 400
    finally:
        for s in stores:
            s.close()


def test_verifying_while_events_are_appended(database_url: str) -> None:
    writer, reader = open_store(database_url), open_store(database_url)
    done = threading.Event()

    def write() -> None:
        try:
            _append(writer, 200)
        finally:
            done.set()

    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(write)
            results = []
            while not done.is_set():
                results.append(verify_chain(reader))
            future.result()
        assert results and all(r.ok for r in results), [r for r in results if not r.ok][:1]
        assert verify_chain(reader).checked == 200
    finally:
        writer.close()
        reader.close()
