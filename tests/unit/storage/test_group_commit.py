"""Group commit (storage/group_commit): units waiting together share one transaction, each
whole or absent on its own, and none is answered before the commit (R-PERF-1, R-X-2)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import pytest

from smki.audit.verify import verify_chain
from smki.errors import Conflict, StorageError
from smki.storage.api import Transaction
from smki.storage.group_commit import GroupCommitter
from smki.storage.sql import SqlStore, open_store
from smki.storage.write_lock import SqliteWriteLock


def _writes(key: str, *, refuse: bool = False) -> Callable[[Transaction], str]:
    def unit(tx: Transaction) -> str:
        tx.set_meta(key, "written")
        tx.audit("test", "meta.set", f"meta:{key}", {})
        if refuse:
            raise Conflict(f"{key} refused", code="refused-here")
        return key

    return unit


def _read(store: SqlStore, key: str) -> str | None:
    with store.reading() as tx:
        return tx.get_meta(key)


def _blocked_writer(committer: GroupCommitter) -> tuple[threading.Event, Future[None]]:
    """Occupy the writer until the event is set, so that what is submitted meanwhile waits."""
    inside, release = threading.Event(), threading.Event()

    def hold(_tx: Transaction) -> None:
        inside.set()
        assert release.wait(10)

    held = committer.submit(hold)
    assert inside.wait(10)
    return release, held


def test_units_waiting_together_commit_together_each_with_its_own_outcome(
    store: SqlStore,
) -> None:
    committer = GroupCommitter(store)
    try:
        release, held = _blocked_writer(committer)
        futures = [
            committer.submit(_writes("a")),
            committer.submit(_writes("b", refuse=True)),
            committer.submit(_writes("c")),
        ]
        assert not any(future.done() for future in futures)  # queued behind the writer
        release.set()
        held.result(10)
        assert futures[0].result(10) == "a"
        with pytest.raises(Conflict) as refused:
            futures[1].result(10)
        assert refused.value.code == "refused-here"
        assert futures[2].result(10) == "c"
        # One transaction for the held unit, one for the three that waited together.
        assert (committer.groups, committer.units) == (2, 4)
    finally:
        committer.close()
    assert _read(store, "a") == "written" and _read(store, "c") == "written"
    assert _read(store, "b") is None  # the refused unit's writes went with it
    subjects = [event.subject for event in store.audit_events()]
    assert "meta:a" in subjects and "meta:c" in subjects and "meta:b" not in subjects
    # The refused unit's event was appended, then undone with its savepoint: the head moved
    # back with it, and the chain has no gap.
    assert verify_chain(store).ok
    head = store.audit_head()
    assert head is not None and head[0] == len(subjects)


def test_nothing_is_answered_before_the_commit(store: SqlStore) -> None:
    """A unit's result arrives after its group committed: another reader sees its writes."""
    committer = GroupCommitter(store)
    try:
        assert committer.submit(_writes("seen")).result(10) == "seen"
        assert _read(store, "seen") == "written"
    finally:
        committer.close()


def test_a_group_that_cannot_commit_fails_every_unit_and_keeps_nothing(tmp_path: Path) -> None:
    """Another holder of the SQLite write lock (as another process would be) outlasts the
    wait: every unit of the group gets ``unavailable`` and none of their writes is kept."""
    database = tmp_path / "smki.db"
    store = open_store(f"sqlite:///{database}")
    committer = GroupCommitter(store)
    lock = store._write_lock  # the store's own lock, made impatient
    assert isinstance(lock, SqliteWriteLock)
    lock._wait_seconds = 0.3
    other = SqliteWriteLock(database)
    try:
        with other:
            futures = [committer.submit(_writes(key)) for key in ("x", "y")]
            for future in futures:
                with pytest.raises(StorageError) as failed:
                    future.result(10)
                assert failed.value.code == "unavailable"
        assert _read(store, "x") is None and _read(store, "y") is None
        # The writer goes on: the next group commits.
        assert committer.submit(_writes("z")).result(10) == "z"
    finally:
        committer.close()
        store.close()


def test_close_lets_queued_units_commit_then_refuses(store: SqlStore) -> None:
    committer = GroupCommitter(store)
    release, held = _blocked_writer(committer)
    queued = committer.submit(_writes("queued"))
    closing = threading.Thread(target=committer.close)
    closing.start()
    release.set()
    closing.join(10)
    assert not closing.is_alive()
    held.result(10)
    assert queued.result(10) == "queued"
    assert _read(store, "queued") == "written"
    with pytest.raises(StorageError) as refused:
        committer.submit(_writes("late"))
    assert refused.value.code == "unavailable"


def test_a_cancelled_unit_is_not_run(store: SqlStore) -> None:
    committer = GroupCommitter(store)
    try:
        release, held = _blocked_writer(committer)
        cancelled = committer.submit(_writes("cancelled"))
        assert cancelled.cancel()
        kept = committer.submit(_writes("kept"))
        release.set()
        held.result(10)
        assert kept.result(10) == "kept"
    finally:
        committer.close()
    assert _read(store, "cancelled") is None


def test_a_group_holds_at_most_max_group_units(store: SqlStore) -> None:
    committer = GroupCommitter(store, max_group=2)
    try:
        release, held = _blocked_writer(committer)
        futures = [committer.submit(_writes(f"k{i}")) for i in range(5)]
        release.set()
        held.result(10)
        assert [future.result(10) for future in futures] == [f"k{i}" for i in range(5)]
        assert (committer.groups, committer.units) == (4, 6)  # 1 + 2 + 2 + 1
    finally:
        committer.close()
    with pytest.raises(ValueError):
        GroupCommitter(store, max_group=0)


def test_a_refused_first_unit_leaves_the_audit_head_to_the_next(store: SqlStore) -> None:
    """The first unit of a group reads (and locks) the audit head, appends, then is refused:
    the next unit appends after the head as stored, not after the undone event."""
    committer = GroupCommitter(store)
    try:
        release, held = _blocked_writer(committer)
        refused = committer.submit(_writes("first", refuse=True))
        kept = committer.submit(_writes("second"))
        release.set()
        held.result(10)
        with pytest.raises(Conflict):
            refused.result(10)
        assert kept.result(10) == "second"
    finally:
        committer.close()
    assert verify_chain(store).ok
    assert [event.subject for event in store.audit_events()][-1] == "meta:second"


def _swallows_a_database_error(tx: Transaction) -> str:
    """A unit that meets a database error and carries on as if nothing happened: PostgreSQL
    aborts the transaction under it; SQLite keeps it usable."""
    tx.set_meta("swallowed", "written")
    with contextlib.suppress(Exception):  # the point of the test
        tx._conn.exec_driver_sql("SELECT * FROM no_such_table")  # type: ignore[attr-defined]
    return "swallowed"


def _ends_the_transaction(tx: Transaction) -> str:
    """The database ends the transaction under a unit (SQLite does on a full disk)."""
    tx.set_meta("ended", "written")
    tx._conn.exec_driver_sql("ROLLBACK")  # type: ignore[attr-defined]
    return "ended"


@pytest.mark.parametrize("breaker", [_swallows_a_database_error, _ends_the_transaction])
def test_a_reported_success_is_always_durable(
    store: SqlStore, breaker: Callable[[Transaction], str]
) -> None:
    """Whatever a unit does to the transaction, every unit answered with a result has its
    writes and its audit events stored, and no other unit has any."""
    committer = GroupCommitter(store)
    try:
        release, held = _blocked_writer(committer)
        futures = {
            "before": committer.submit(_writes("before")),
            breaker.__name__: committer.submit(breaker),
            "after": committer.submit(_writes("after")),
        }
        release.set()
        held.result(10)
        succeeded = set()
        for name, future in futures.items():
            try:
                future.result(10)
            except StorageError as error:
                assert error.code == "unavailable"
            else:
                succeeded.add(name)
    finally:
        committer.close()
    for key in ("before", "after"):
        assert (_read(store, key) == "written") == (key in succeeded)
    assert verify_chain(store).ok
    subjects = {event.subject for event in store.audit_events()}
    for key in ("before", "after"):
        assert (f"meta:{key}" in subjects) == (key in succeeded)


def test_a_read_only_snapshot_refuses_audit_events(store: SqlStore) -> None:
    with pytest.raises(StorageError), store.reading() as tx:
        tx.audit("test", "meta.read", "meta:x", {})
    assert verify_chain(store).ok
