"""One SQLite writer at a time, queued in order across threads and processes (R-X-2).

SQLite lets one transaction write at a time; another writer meets ``SQLITE_BUSY`` and its
busy handler sleeps and retries, with sleeps that grow with contention. Under concurrent
requests from several processes (``smki serve --workers N``, the CLI beside the service) that
shows as seconds of tail latency and idle cores. Here writers queue instead: the threads of
one process on a lock, then the processes on an ``flock`` of a file beside the database, for
which the kernel wakes the next waiter as soon as the holder lets go (and releases the lock if
the holder dies). Polling for it instead was measured unfair: the process that just let go
takes it again before a sleeping poller wakes (two workers, 32 single-CSR clients: p99 372 and
386 ms polling, 262 to 284 ms waiting in the kernel's queue).

The wait is bounded, as SQLite's busy timeout bounded it: a process stopped or hung in the
middle of a transaction makes the others fail with ``unavailable`` after ``WAIT_SECONDS``
rather than hang. ``flock`` itself has no timeout, so a contended wait blocks in a thread of
its own on a descriptor of its own; given up, that thread lets the lock go as soon as it gets
it, and mutual exclusion never depends on it.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from types import TracebackType
from typing import Final

from smki.errors import StorageError

#: How long a writer waits for the lock before it gives up (SQLite's busy timeout, R-X-2).
WAIT_SECONDS: Final = 30.0


class SqliteWriteLock:
    """Re-entrant within a thread (a transaction may open inside another's scope)."""

    def __init__(self, database: Path, *, wait_seconds: float = WAIT_SECONDS) -> None:
        self.path = database.with_name(database.name + ".write-lock")
        self._wait_seconds = wait_seconds
        self._threads = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def __enter__(self) -> SqliteWriteLock:
        if not self._threads.acquire(timeout=self._wait_seconds):
            raise _busy()
        try:
            if self._depth == 0:
                self._fd = _take(self.path, self._wait_seconds)
            self._depth += 1
        except BaseException:
            self._threads.release()
            raise
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        try:
            self._depth -= 1
            if self._depth == 0 and self._fd is not None:
                fd, self._fd = self._fd, None
                _let_go(fd)
        finally:
            self._threads.release()


def _take(path: Path, wait_seconds: float) -> int:
    """A descriptor of the lock file holding the lock; StorageError ``unavailable`` if it was
    not ours within ``wait_seconds``."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        pass
    except BaseException:
        os.close(fd)
        raise
    waiter = _Waiter(fd)
    if waiter.wait(wait_seconds):
        return fd
    raise _busy()


class _Waiter:
    """Blocks on ``flock`` in its own thread; the descriptor is the waiter's until it reports
    the lock taken in time, and it closes the descriptor itself if that came too late."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._done = threading.Event()
        self._guard = threading.Lock()
        self._abandoned = False
        self._taken = False
        threading.Thread(target=self._block, name="smki-write-lock", daemon=True).start()

    def wait(self, seconds: float) -> bool:
        self._done.wait(seconds)
        with self._guard:
            if self._taken:
                return True
            self._abandoned = True
            return False

    def _block(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except OSError:
            with self._guard:
                self._abandoned = True
            self._done.set()  # nothing to wait for: the writer gives up at once
        with self._guard:
            if not self._abandoned:
                self._taken = True
                self._done.set()
                return
        _let_go(self._fd)


def _let_go(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _busy() -> StorageError:
    return StorageError("the database is busy; try again", code="unavailable")
