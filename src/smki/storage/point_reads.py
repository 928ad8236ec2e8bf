"""The repository's hot look-ups as one statement each on a connection kept open (R-REP-4).

A look-up by serial or by EUI-64 alone reads one indexed row (or a few), a fraction of a
millisecond of database work. Checking a pooled connection out, BEGIN, COMMIT and checking it
back in cost more than that on every request, so these look-ups run here instead: one
statement in autocommit mode on a read-only connection of their own, which is as consistent
as a snapshot (a single statement always sees one committed state) and takes no write lock.

The statement is the store's own listing (``sql_repository.listing``), compiled once for the
database, and values pass through the same column types as everywhere else: a row read here is
exactly the row ``Transaction.list_certificates`` returns.
"""

from __future__ import annotations

import contextlib
import threading
from collections import namedtuple
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from smki.errors import StorageError
from smki.storage.api import (
    POINT_FIELDS,
    CertificateFilter,
    ListedCertificate,
    point_field,
)
from smki.storage.engine import log_driver_error
from smki.storage.sql_repository import listed_certificate, listing, serial_in_range

_Processor = Callable[[Any], Any] | None


class _Statement:
    """One listing compiled for the database, with its parameters' and columns' converters."""

    def __init__(self, stmt: sa.Select[Any], dialect: sa.Dialect) -> None:
        compiled = self._compiled = stmt.compile(dialect=dialect)
        self.sql = compiled.string
        self.positional: Sequence[str] | None = (
            list(compiled.positiontup or ()) if dialect.positional else None
        )
        self.binds: dict[str, _Processor] = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in compiled.binds.items()
        }
        columns = list(stmt.selected_columns)
        self.results: list[_Processor] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]
        self.row_type = namedtuple("_Row", [column.key for column in columns])  # type: ignore[misc]

    def parameters(self, values: dict[str, Any]) -> Sequence[Any] | dict[str, Any]:
        # construct_params adds what the dialect put in itself (SQLite's OFFSET 0).
        converted = self._compiled.construct_params(values)
        for name, process in self.binds.items():
            if process is not None and converted.get(name) is not None:
                converted[name] = process(converted[name])
        if self.positional is not None:
            return [converted[name] for name in self.positional]
        return dict(converted)

    def row(self, raw: Sequence[Any]) -> Any:
        return self.row_type(
            *(v if p is None or v is None else p(v) for v, p in zip(raw, self.results, strict=True))
        )


class PointReads:
    """Look-ups by serial or EUI-64 alone; thread-safe (one statement at a time)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._connection: Any = None
        self._statements = {
            field: _Statement(listing((field,), None), engine.dialect) for field in POINT_FIELDS
        }
        self._errors: tuple[type[BaseException], ...] = (engine.dialect.loaded_dbapi.Error,)

    def list_certificates(
        self, env: str, wanted: CertificateFilter, *, limit: int
    ) -> list[ListedCertificate]:
        field = point_field(wanted)
        if field is None:
            raise ValueError("a point read takes a serial or an EUI-64 alone")
        if field == "serial" and not serial_in_range(wanted.serial):
            return []
        values = {"env": env, "after_id": 0, "limit": limit, field: getattr(wanted, field)}
        statement = self._statements[field]
        parameters = statement.parameters(values)
        with self._lock:
            rows = self._fetch(statement.sql, parameters)
        return [listed_certificate(statement.row(raw)) for raw in rows]

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _fetch(self, sql: str, parameters: Any) -> list[Sequence[Any]]:
        # A connection that failed is dropped and the look-up tried once more on a new one, as
        # the pool's pre-ping would: a restarted database server fails no request.
        for attempt in (1, 2):
            try:
                cursor = self._open().cursor()
                try:
                    cursor.execute(sql, parameters)
                    return list(cursor.fetchall())
                finally:
                    cursor.close()
            except self._errors as exc:
                self._drop()
                if attempt == 2:
                    log_driver_error(exc)
                    raise StorageError(
                        "the database is unavailable or busy; try again", code="unavailable"
                    ) from None
        raise AssertionError("unreachable")

    def _open(self) -> Any:
        if self._connection is None:
            raw = self._engine.raw_connection()
            dbapi: Any = raw.driver_connection
            # Ours alone: never handed back to the pool with autocommit set.
            raw.detach()
            if self._engine.dialect.name == "sqlite":
                # The engine's connect hook already took BEGIN away: each statement commits.
                dbapi.execute("PRAGMA query_only = ON")
            else:
                dbapi.autocommit = True
                dbapi.execute("SET default_transaction_read_only = on")
            self._connection = dbapi
        return self._connection

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            # Already broken, perhaps: nothing of ours is lost with it.
            with contextlib.suppress(*self._errors):
                connection.close()
