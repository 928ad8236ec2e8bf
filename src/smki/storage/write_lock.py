"""One SQLite writer at a time, queued in order across threads and processes (R-X-2).

SQLite lets one transaction write at a time; another writer meets ``SQLITE_BUSY`` and its
busy handler sleeps and retries, with sleeps that grow with contention. Under concurrent
requests from several processes (``smki serve --workers N``, the CLI beside the service) that
shows as seconds of tail latency and idle cores. Here writers queue instead: the threads of
one process on a lock, then the processes on an ``flock`` of a file beside the database, which
the kernel releases if the holder dies.

The wait is bounded, as SQLite's busy timeout bounded it: a process stopped or hung in the middle
of a transaction makes the others fail with ``unavailable`` after ``WAIT_SECONDS``, not hang.
The file lock is tried without blocking, with pauses of at most a millisecond between tries:
waits here are a transaction or two long, and a short pause keeps the queue moving.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Final

from smki.errors import StorageError

#: How long a writer waits for the lock before it gives up (SQLite's busy timeout, R-X-2).
WAIT_SECONDS: Final = 30.0
_PAUSE_SECONDS: Final = 0.001


class SqliteWriteLock:
    """Re-entrant within a thread (a transaction may open inside another's scope)."""

    def __init__(self, database: Path, *, wait_seconds: float = WAIT_SECONDS) -> None:
        self.path = database.with_name(database.name + ".write-lock")
        self._wait_seconds = wait_seconds
        self._threads = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def __enter__(self) -> SqliteWriteLock:
        deadline = time.monotonic() + self._wait_seconds
        if not self._threads.acquire(timeout=self._wait_seconds):
            raise _busy()
        try:
            if self._depth == 0:
                if self._fd is None:
                    self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                self._take_file_lock(self._fd, deadline)
            self._depth += 1
        except BaseException:
            self._threads.release()
            raise
        return self

    @staticmethod
    def _take_file_lock(fd: int, deadline: float) -> None:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise _busy() from None
                time.sleep(_PAUSE_SECONDS)

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        try:
            self._depth -= 1
            if self._depth == 0 and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        with self._threads:
            if self._fd is not None and self._depth == 0:
                os.close(self._fd)
                self._fd = None


def _busy() -> StorageError:
    return StorageError("the database is busy; try again", code="unavailable")
