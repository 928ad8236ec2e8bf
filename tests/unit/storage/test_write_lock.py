"""SQLite writers queue for one lock across threads and processes (storage/write_lock)."""

from __future__ import annotations

import fcntl
import threading
import time
from pathlib import Path

import pytest

from smki.errors import StorageError
from smki.storage.sql import SqlStore, open_store
from smki.storage.write_lock import SqliteWriteLock
from tests.unit.storage.factories import add_ca


def test_two_stores_on_one_file_write_one_after_the_other(tmp_path: Path) -> None:
    """Two SqlStore objects hold separate lock files descriptors, as two processes would:
    the second writer waits for the first to commit instead of failing or busy-sleeping."""
    url = f"sqlite:///{tmp_path / 'smki.db'}"
    first, second = open_store(url), SqlStore(url)
    inside = threading.Event()
    spans: dict[str, tuple[float, float]] = {}

    def hold() -> None:
        with first.transaction() as tx:
            began = time.monotonic()
            inside.set()
            add_ca(tx)
            time.sleep(0.5)
        spans["first"] = (began, time.monotonic())

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert inside.wait(10)
        with second.transaction() as tx:
            began = time.monotonic()
            assert len(tx.authorities("test")) == 1  # the first one's commit is seen
        spans["second"] = (began, time.monotonic())
    finally:
        holder.join()
        first.close()
        second.close()
    assert spans["second"][0] >= spans["first"][1] - 0.01


def _taken_by_another(database: Path) -> bool:
    """Whether another holder (another descriptor, as another process) gets the lock now."""
    other = SqliteWriteLock(database)
    got = threading.Event()

    def take() -> None:
        with other:
            got.set()

    taker = threading.Thread(target=take)
    taker.start()
    taker.join(5)
    return got.is_set()


def test_the_lock_is_reentrant_in_a_thread_and_released_whole(tmp_path: Path) -> None:
    lock = SqliteWriteLock(tmp_path / "smki.db")
    with lock, lock:
        pass
    # Released at the outer exit: another holder gets it at once.
    assert _taken_by_another(tmp_path / "smki.db")
    assert lock.path.name == "smki.db.write-lock"


def test_a_failed_transaction_releases_the_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'smki.db'}"
    store = open_store(url)
    try:
        try:
            with store.transaction():
                raise RuntimeError("refused")
        except RuntimeError:
            pass
        assert _taken_by_another(tmp_path / "smki.db")
    finally:
        store.close()


def test_a_write_transaction_holds_the_file_lock_other_processes_wait_on(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'smki.db'}")
    lock_file = tmp_path / "smki.db.write-lock"
    try:
        with store.transaction() as tx:
            add_ca(tx)
            with lock_file.open("a") as probe, pytest.raises(BlockingIOError):
                fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        # Readers take no write lock.
        with store.reading() as tx, lock_file.open("a") as probe:
            fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            assert len(tx.authorities("test")) == 1
    finally:
        store.close()


def test_a_writer_gives_up_after_the_wait_with_unavailable(tmp_path: Path) -> None:
    """A process stopped inside a transaction must not hang the others for ever."""
    held = SqliteWriteLock(tmp_path / "smki.db")
    waiting = SqliteWriteLock(tmp_path / "smki.db", wait_seconds=0.3)
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with held:
            inside.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert inside.wait(5)
        started = time.monotonic()
        with pytest.raises(StorageError) as refused, waiting:
            pass
        assert refused.value.code == "unavailable"
        assert 0.3 <= time.monotonic() - started < 5
    finally:
        release.set()
        holder.join()
    with waiting:  # free again
        pass
