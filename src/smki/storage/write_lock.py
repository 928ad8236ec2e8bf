"""One SQLite writer at a time, queued in order across threads and processes (R-X-2).

SQLite lets one transaction write at a time; another writer meets ``SQLITE_BUSY`` and its
busy handler sleeps and retries, with sleeps that grow with contention. Under concurrent
requests from several processes (``smki serve --workers N``, the CLI beside the service) that
shows as seconds of tail latency and idle cores. Here writers queue instead: the threads of
one process on a lock, then the processes on an ``flock`` of a file beside the database, which
the kernel grants as soon as the holder lets go (and releases if the holder dies).
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from types import TracebackType


class SqliteWriteLock:
    """Re-entrant within a thread (a transaction may open inside another's scope)."""

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".write-lock")
        self._threads = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def __enter__(self) -> SqliteWriteLock:
        self._threads.acquire()
        try:
            if self._depth == 0:
                if self._fd is None:
                    self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
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
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        with self._threads:
            if self._fd is not None and self._depth == 0:
                os.close(self._fd)
                self._fd = None
