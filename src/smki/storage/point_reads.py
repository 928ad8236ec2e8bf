"""The repository's hot look-ups as one statement each on a connection kept open (R-REP-4).

A look-up by serial or by EUI-64 alone reads one indexed row (or a few), a fraction of a
millisecond of database work. Checking a pooled connection out, BEGIN, COMMIT and checking it
back in cost more than that on every request, so these look-ups run here instead: one
statement in autocommit mode on a read-only connection of their own, which is as consistent
as a snapshot (a single statement always sees one committed state) and takes no write lock.

Several look-ups can share one statement (``list_many``): the service gathers those that arrive
together (``api.repository.lookup_batches``), so that under load a round trip to the database
serves many requests. The statement is the store's own listing for many keys
(``sql_repository.many_listing``), compiled once per number of keys, and values pass through the
same column types as everywhere else: a row read here is exactly the row
``Transaction.list_certificates`` returns.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa

from smki.errors import StorageError
from smki.storage.api import (
    POINT_FIELDS,
    CertificateFilter,
    ListedCertificate,
    point_field,
)
from smki.storage.engine import log_driver_error
from smki.storage.raw_statements import RawStatement
from smki.storage.sql_repository import listed_certificate, many_listing, serial_in_range

#: Keys per statement: a batch larger than this is read in several.
MAX_KEYS: Final = 32
#: The longest a look-up waits for another to finish with the connection.
LOCK_SECONDS: Final = 5.0

log = logging.getLogger(__name__)


class PointReads:
    """Look-ups by serial or EUI-64 alone, one key or several per statement; thread-safe
    (one statement at a time)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._connection: Any = None
        self._cursor: Any = None
        self._closed = False
        self._postgresql = engine.dialect.name == "postgresql"
        self._statements: dict[tuple[str, int], RawStatement] = {}
        self._errors: tuple[type[BaseException], ...] = (engine.dialect.loaded_dbapi.Error,)

    def list_certificates(
        self, env: str, wanted: CertificateFilter, *, limit: int
    ) -> list[ListedCertificate]:
        field = point_field(wanted)
        if field is None:
            raise ValueError("a point read takes a serial or an EUI-64 alone")
        (listed,) = self.list_many(env, field, [getattr(wanted, field)], limit=limit)
        return listed

    def list_many(
        self, env: str, field: str, keys: Sequence[Any], *, limit: int
    ) -> list[list[ListedCertificate]]:
        """For each key (a serial or an EUI-64, as ``field`` says), its first ``limit``
        certificates in id order, as ``list_certificates`` would give them one by one."""
        if field not in POINT_FIELDS:
            raise ValueError(f"a point read is by {' or '.join(POINT_FIELDS)}, not {field!r}")
        found: dict[Any, list[ListedCertificate]] = {}
        wanted = list(dict.fromkeys(k for k in keys if field != "serial" or serial_in_range(k)))
        for start in range(0, len(wanted), MAX_KEYS):
            chunk = wanted[start : start + MAX_KEYS]
            statement = self._statement(field, len(chunk))
            values: dict[str, Any] = {"env": env, "limit": limit}
            values.update({f"key{i}": key for i, key in enumerate(chunk)})
            parameters = statement.parameters(values)
            # Bounded: the service's event loop reads here, and must not wait long on a thread
            # that is reconnecting (R-REP-4).
            if not self._lock.acquire(timeout=LOCK_SECONDS):
                raise StorageError(
                    "the database is unavailable or busy; try again", code="unavailable"
                )
            try:
                rows = self._fetch(statement.sql, parameters)
            finally:
                self._lock.release()
            for raw in rows:
                item = listed_certificate(statement.row(raw))
                key = item.row.serial if field == "serial" else item.row.subject_eui
                found.setdefault(key, []).append(item)
        return [found.get(key, []) for key in keys]

    def _statement(self, field: str, count: int) -> RawStatement:
        statement = self._statements.get((field, count))
        if statement is None:
            statement = RawStatement(many_listing(field, count), self._engine.dialect, ())
            self._statements[(field, count)] = statement
        return statement

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._drop()

    def _fetch(self, sql: str, parameters: Any) -> list[Sequence[Any]]:
        # A connection that failed is dropped and the look-up tried once more on a new one, as
        # the pool's pre-ping would: a restarted database server fails no request.
        for attempt in (1, 2):
            try:
                cursor = self._open()
                if self._postgresql:
                    # Prepared on the server from the first use, not after psycopg's default
                    # five; results come in binary, so the DER travels as bytes, not hex.
                    cursor.execute(sql, parameters, prepare=True)
                else:
                    cursor.execute(sql, parameters)
                return list(cursor.fetchall())
            except self._errors as exc:
                self._drop()
                if attempt == 2:
                    log_driver_error(exc)
                    raise StorageError(
                        "the database is unavailable or busy; try again", code="unavailable"
                    ) from None
            except sa.exc.SQLAlchemyError as exc:
                # From the pool (no connection free in time): as the store's own reads say it.
                log.warning("point read: no connection: %s", type(exc).__name__)
                raise StorageError(
                    "the database is unavailable or busy; try again", code="unavailable"
                ) from None
        raise AssertionError("unreachable")

    def _open(self) -> Any:
        """The cursor kept with the connection (one statement at a time, under the lock)."""
        if self._closed:
            raise StorageError("the store is closed", code="unavailable")
        if self._cursor is None:
            raw = self._engine.raw_connection()
            dbapi: Any = raw.driver_connection
            # Ours alone: never handed back to the pool with autocommit set.
            raw.detach()
            try:
                if self._postgresql:
                    dbapi.autocommit = True
                    dbapi.execute("SET default_transaction_read_only = on")
                    cursor = dbapi.cursor(binary=True)
                else:
                    # The engine's connect hook already took BEGIN away: each statement
                    # commits.
                    dbapi.execute("PRAGMA query_only = ON")
                    cursor = dbapi.cursor()
            except BaseException:
                with contextlib.suppress(*self._errors):
                    dbapi.close()
                raise
            self._connection, self._cursor = dbapi, cursor
        return self._cursor

    def _drop(self) -> None:
        connection, self._connection, self._cursor = self._connection, None, None
        if connection is not None:
            # Already broken, perhaps: nothing of ours is lost with it.
            with contextlib.suppress(*self._errors):
                connection.close()
