"""Engines for SQLite and PostgreSQL, and the one place driver errors become smki errors (R-X-2).

SQLite (the embedded default) runs in WAL mode so readers never block the writer, with foreign
keys on and a busy timeout. Python's sqlite3 module is told to keep out of transaction control
and SQLAlchemy emits ``BEGIN IMMEDIATE`` itself (the documented pysqlite recipe): every write
transaction takes SQLite's write lock at its start, so concurrent writers queue instead of
failing with "database is locked" half way through. Read-only work may ask for a deferred BEGIN
through the ``smki_begin`` execution option.

PostgreSQL uses psycopg 3. Sessions run in UTC so that no timestamp (not even a device
certificate's 9999-12-31 notAfter) is shifted past what a Python datetime can hold.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc

from smki.errors import Conflict, NotFound, StorageError
from smki.storage.schema import UnstorableValueError

log = logging.getLogger(__name__)

#: Execution option naming the SQLite BEGIN mode for a connection.
BEGIN_OPTION: Final = "smki_begin"
_BEGIN_MODES: Final = frozenset({"IMMEDIATE", "DEFERRED"})
_SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
#: A PostgreSQL server that does not answer is an error in seconds, not a hung request.
_CONNECT_TIMEOUT_SECONDS = 10


def engine_url(url: str) -> sa.URL:
    """Parse ``url``; a bare ``postgresql://`` URL gets the psycopg 3 driver."""
    try:
        parsed = sa.make_url(url)
    except sa_exc.ArgumentError:
        raise StorageError("the database URL is not valid", code="bad-url") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StorageError("only SQLite and PostgreSQL databases are supported", code="bad-url")
    return parsed


def make_engine(url: str) -> sa.Engine:
    """An engine configured for smki's transaction discipline (see the module docstring)."""
    parsed = engine_url(url)
    # Never let SQL parameters (certificate data, audit details) reach an exception message.
    common: dict[str, Any] = {"hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(
            parsed,
            # The pool hands a connection to whichever thread checks it out next; each is
            # still used by one thread at a time.
            connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            **common,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return sa.create_engine(
        parsed,
        connect_args={"options": "-c TimeZone=UTC", "connect_timeout": _CONNECT_TIMEOUT_SECONDS},
        # Service processes keep connections for long; a restarted server must not fail the
        # next request.
        pool_pre_ping=True,
        **common,
    )


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take BEGIN away from the sqlite3 module so that _sqlite_on_begin decides its mode.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        _sqlite_enable_wal(cursor)
    finally:
        cursor.close()


def _sqlite_enable_wal(cursor: Any) -> None:
    # WAL is a property of the file, so this only does work on a new database. Switching
    # needs an exclusive lock and SQLite does not wait for it (the busy timeout does not
    # apply), so a process racing another on a fresh file retries here.
    deadline = time.monotonic() + _SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            (mode,) = cursor.execute("PRAGMA journal_mode = WAL").fetchone()
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
            continue
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError("SQLite refused WAL journal mode")
        return


def _sqlite_on_begin(conn: sa.Connection) -> None:
    mode = conn.get_execution_options().get(BEGIN_OPTION, "IMMEDIATE")
    if mode not in _BEGIN_MODES:
        raise ValueError(f"unknown SQLite BEGIN mode {mode!r}")
    conn.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def translated_errors() -> Iterator[None]:
    """Turn driver and SQLAlchemy errors into smki errors with safe details (R-X-2).

    A unique-constraint violation becomes Conflict, a foreign-key violation NotFound; anything
    else is a StorageError. Driver messages are never copied: they can quote row values.
    """
    try:
        yield
    except UnstorableValueError as exc:
        raise StorageError(str(exc), code="unstorable-value") from None
    except sa_exc.IntegrityError as exc:
        kind = _constraint_kind(exc.orig)
        log.info("database constraint violation: %s", kind)
        if kind == "unique":
            raise Conflict("the record already exists", code="duplicate") from None
        if kind == "foreign-key":
            raise NotFound("a referenced record does not exist", code="missing-reference") from None
        raise StorageError("the database refused the change", code="constraint") from None
    except sa_exc.OperationalError as exc:
        _log_driver_error(exc)
        raise StorageError(
            "the database is unavailable or busy; try again", code="unavailable"
        ) from None
    except sa_exc.StatementError as exc:
        if isinstance(exc.orig, UnstorableValueError):
            raise StorageError(str(exc.orig), code="unstorable-value") from None
        _log_driver_error(exc)
        raise StorageError("the database refused the operation", code="database") from None
    except sa_exc.SQLAlchemyError as exc:
        log.warning("storage failure: %s", type(exc).__name__)
        raise StorageError("storage failure", code="storage") from None


def _constraint_kind(orig: BaseException | None) -> str:
    sqlstate = getattr(orig, "sqlstate", None)  # psycopg
    if sqlstate == "23505":
        return "unique"
    if sqlstate == "23503":
        return "foreign-key"
    name = getattr(orig, "sqlite_errorname", None)  # sqlite3, Python 3.11+
    if name in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"):
        return "unique"
    if name == "SQLITE_CONSTRAINT_FOREIGNKEY":
        return "foreign-key"
    return "other"


def _log_driver_error(exc: sa_exc.StatementError) -> None:
    log_driver_error(exc.orig)


def log_driver_error(orig: BaseException | None) -> None:
    """The driver error's class and code, never its message (it can quote row values)."""
    code = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
    log.warning("database error: %s (%s)", type(orig).__name__, code)
