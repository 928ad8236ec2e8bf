"""Group commit: units of work that arrive together share one transaction (R-PERF-1, R-X-2).

Every write transaction pays a fixed price whatever it writes: the write lock (SQLite's is one
per database), BEGIN, and a commit that waits for the disk. Concurrent single-CSR requests
pay it twice each (the intent, then the certificate: R-CA-4), and that price, not their
statements, bounds how many a second the service answers. Here the units waiting when the
writer comes free run in one transaction instead, in arrival order:

- each runs in a block of its own (``Transaction.isolated``, a savepoint): a unit that raises
  undoes only its own writes and gets its own error back, and the others go on;
- the transaction commits once, and only then does any caller learn its unit's result, so
  nothing is reported done that is not durable;
- a failed commit fails every unit of the group, and none of their writes are kept; so does a
  transaction that breaks under a unit (a savepoint statement fails, the database ends it):
  the store then refuses to commit it (``TransactionBroken``), rather than answer for units
  whose writes it no longer holds.

A crash at any point therefore leaves each unit whole or absent, as its own transaction would.

One writer thread per committer. A unit uses only the transaction it is given: opening another
write transaction from inside it would wait for the lock its own group holds.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Final, TypeVar

from smki.errors import StorageError
from smki.storage.api import Store, Transaction, TransactionBroken

log = logging.getLogger("smki.storage")

_T = TypeVar("_T")

#: A unit of work: its writes and reads, in the group's transaction.
Unit = Callable[[Transaction], _T]

#: Units per transaction at most: enough to take in every request a busy worker holds, few
#: enough that a group keeps the write lock for milliseconds, not seconds.
MAX_GROUP: Final = 64

_Item = tuple[Callable[[Transaction], Any], "Future[Any]"]


class GroupCommitter:
    """Runs units of work on one writer thread, as many together as are waiting."""

    def __init__(self, store: Store, *, max_group: int = MAX_GROUP) -> None:
        if max_group < 1:
            raise ValueError("a group holds at least one unit")
        self._store = store
        self._max_group = max_group
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._accepting = True
        self._guard = threading.Lock()
        #: Transactions committed or failed, and units that ran in them (for tests and metrics).
        self.groups = 0
        self.units = 0
        self._thread = threading.Thread(target=self._write, name="smki-group-commit", daemon=True)
        self._thread.start()

    def submit(self, unit: Unit[_T]) -> Future[_T]:
        """Queue ``unit``; its future holds its result once its group has committed."""
        future: Future[_T] = Future()
        with self._guard:
            if not self._accepting:
                raise _stopping()
            self._queue.put((unit, future))
        return future

    async def run(self, unit: Unit[_T]) -> _T:
        """``submit`` for the event loop: waits without holding a thread."""
        return await asyncio.wrap_future(self.submit(unit))

    def close(self, timeout: float = 30.0) -> None:
        """Refuse new units, let the queued ones commit, and stop the writer."""
        with self._guard:
            if not self._accepting:
                return
            self._accepting = False
            self._queue.put(None)
        self._thread.join(timeout)

    def _write(self) -> None:
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                group = [first]
                stop = False
                while len(group) < self._max_group:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stop = True
                        break
                    group.append(item)
                self._commit(group)
                if stop:
                    return
        finally:
            # Whatever stopped the writer, nobody may wait for it afterwards.
            with self._guard:
                self._accepting = False
            self._fail_queued()

    def _commit(self, group: list[_Item]) -> None:
        live = [(unit, future) for unit, future in group if future.set_running_or_notify_cancel()]
        if not live:
            return
        outcomes: list[tuple[Future[Any], Any, Exception | None]] = []
        try:
            with self._store.transaction() as tx:
                for unit, future in live:
                    try:
                        with tx.isolated():
                            value = unit(tx)
                    except TransactionBroken:
                        raise  # not this unit's refusal: nothing of the group may commit
                    except Exception as error:
                        outcomes.append((future, None, error))
                    else:
                        outcomes.append((future, value, None))
        except BaseException as error:
            # Nothing of the group was kept: every unit fails with the transaction's error.
            log.warning("a group of %d units did not commit: %s", len(live), type(error).__name__)
            for _, future in live:
                future.set_exception(_own(error))
            if not isinstance(error, Exception):
                raise
            return
        finally:
            self.groups += 1
            self.units += len(live)
        for future, value, unit_error in outcomes:
            if unit_error is None:
                future.set_result(value)
            else:
                future.set_exception(unit_error)

    def _fail_queued(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None and item[1].set_running_or_notify_cancel():
                item[1].set_exception(_stopping())


def _own(error: BaseException) -> BaseException:
    """A copy per waiter, so that callers raising it at once do not share one traceback."""
    try:
        return copy.copy(error)
    except Exception:  # pragma: no cover - an exception type that cannot be copied
        return error


def _stopping() -> StorageError:
    return StorageError("the service is stopping", code="unavailable")
