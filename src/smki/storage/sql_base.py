"""Shared plumbing for the SQL transaction (R-X-2): statement helpers and row mappers."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite

from smki.clock import Clock
from smki.errors import Conflict, NotFound, StorageError
from smki.storage import schema as t
from smki.storage.api import (
    AuditRow,
    AuthorityRow,
    CertificateRow,
    CrlRow,
    IntentRow,
    TransactionBroken,
)
from smki.storage.engine import translated_errors
from smki.storage.raw_statements import RawResult, run_prebuilt

#: psycopg's TransactionStatus IDLE and INTRANS: no transaction begun yet, or one with no error
#: pending (not INERROR, aborted, nor UNKNOWN, a broken connection).
_PG_USABLE: Final = frozenset({0, 2})
#: Ids or serials per IN (…) list: far below SQLite's and PostgreSQL's parameter limits.
CHUNK: Final = 1000

_T = TypeVar("_T")


class SqlBase:
    """One open SQLAlchemy connection inside a database transaction, and ways to use it.

    Every statement runs through ``translated_errors`` so that callers only ever see smki
    errors with safe details.
    """

    def __init__(self, conn: sa.Connection, clock: Clock) -> None:
        self._conn = conn
        self._clock = clock
        self._savepoints = 0  # names them uniquely within the transaction

    def _run(self, stmt: sa.Executable, params: Any = None) -> sa.CursorResult[Any]:
        with translated_errors():
            return self._conn.execute(stmt, params)

    def _fast(
        self, stmt: sa.Executable, values: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> RawResult:
        """A statement built once (a module constant, no expanding parameters) on the
        driver's cursor (``raw_statements``): the same SQL and values, less machinery."""
        with translated_errors():
            return run_prebuilt(self._conn, stmt, values)

    def _all(self, stmt: sa.Executable) -> list[sa.Row[Any]]:
        with translated_errors():
            return list(self._conn.execute(stmt).all())

    def _first(self, stmt: sa.Executable) -> sa.Row[Any] | None:
        with translated_errors():
            return self._conn.execute(stmt).first()

    def _scalar(self, stmt: sa.Executable) -> Any:
        with translated_errors():
            return self._conn.execute(stmt).scalar_one_or_none()

    def _insert_many(self, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
        # executemany with RETURNING; SQLAlchemy batches it ("insertmanyvalues") and
        # sort_by_parameter_order guarantees ids come back in input order on both databases.
        stmt = table.insert().returning(table.c.id, sort_by_parameter_order=True)
        return [int(i) for i in self._run(stmt, rows).scalars().all()]

    def _insert_many_by_serial(self, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
        """Bulk insert rows keyed by (authority_id, serial); ids in input order.

        SQLite cannot promise the order of RETURNING rows, so SQLAlchemy would send one
        statement per row there; a plain executemany and one look-up of the new ids by their
        unique key is an order of magnitude faster for a batch (R-SI-2).
        """
        if self._conn.dialect.name != "sqlite":
            return self._insert_many(table, rows)
        self._run(table.insert(), rows)
        return self._ids_by_serial(table, rows)

    def _ids_by_serial(self, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
        """The ids of ``rows``, inserted already, looked up by their unique (authority_id,
        serial) in chunks; in input order."""
        ids: dict[tuple[int, int], int] = {}
        for authority_id in {r["authority_id"] for r in rows}:
            serials = [r["serial"] for r in rows if r["authority_id"] == authority_id]
            for chunk in chunks(serials):
                stmt = sa.select(table.c.id, table.c.serial).where(
                    table.c.authority_id == authority_id, table.c.serial.in_(chunk)
                )
                ids.update(
                    {(authority_id, int(row.serial)): int(row.id) for row in self._all(stmt)}
                )
        return [ids[(r["authority_id"], r["serial"])] for r in rows]

    def _insert_ignoring(self, table: sa.Table, *conflict_columns: str) -> sa.Insert:
        """``INSERT … ON CONFLICT (conflict_columns) DO NOTHING``, on either database.

        A duplicate is then a row not written (RETURNING tells), never an error: on
        PostgreSQL an error would abort the whole surrounding transaction.
        """
        insert = pg.insert if self._conn.dialect.name == "postgresql" else sqlite.insert
        return insert(table).on_conflict_do_nothing(
            index_elements=[table.c[name] for name in conflict_columns]
        )

    @contextmanager
    def isolated(self) -> Iterator[None]:
        """Undo the block's writes if it raises, leaving the transaction usable (a savepoint).

        Plain SAVEPOINT statements rather than ``begin_nested``: the same on both databases,
        at a fraction of the cost, which group commit pays twice per single-CSR request. A
        savepoint statement that fails means the transaction cannot be trusted any more:
        ``TransactionBroken``, whatever the block did."""
        self._savepoints += 1
        name = f"smki_{self._savepoints}"
        self._savepoint_statement(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._savepoint_statement(f"ROLLBACK TO SAVEPOINT {name}")
            self._savepoint_statement(f"RELEASE SAVEPOINT {name}")
            raise
        try:
            self._savepoint_statement(f"RELEASE SAVEPOINT {name}")
        except TransactionBroken:
            with contextlib.suppress(Exception):  # undo what can be undone; it fails anyway
                self._conn.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {name}")
            raise

    def _savepoint_statement(self, sql: str) -> None:
        try:
            with translated_errors():
                self._conn.exec_driver_sql(sql)
        except StorageError as error:
            raise TransactionBroken(
                "the database transaction failed; nothing of it was kept"
            ) from error

    def still_open(self) -> bool:
        """Whether the database still holds this transaction open and usable: SQLite may end
        it on its own (a full disk), PostgreSQL aborts it on an error nobody undid."""
        raw = self._conn.connection.dbapi_connection
        if self._conn.dialect.name == "sqlite":
            return bool(getattr(raw, "in_transaction", False))
        info = getattr(raw, "info", None)
        status = getattr(info, "transaction_status", None)
        # IDLE: nothing sent yet (psycopg begins at the first statement); INERROR: aborted.
        return status is not None and int(status) in _PG_USABLE

    def _require_certificate(self, certificate_id: int) -> None:
        stmt = sa.select(t.certificates.c.id).where(t.certificates.c.id == certificate_id)
        if self._first(stmt) is None:
            raise certificate_not_found(certificate_id)


def chunks(values: Sequence[_T]) -> Iterable[list[_T]]:
    for start in range(0, len(values), CHUNK):
        yield list(values[start : start + CHUNK])


def duplicate_serial() -> Conflict:
    return Conflict(
        "a serial is already used by this issuer", code="duplicate-serial", rid="R-PROF-3"
    )


def authority_not_found(authority_id: int) -> NotFound:
    return NotFound(f"authority {authority_id} not found", code="authority-not-found")


def certificate_not_found(certificate_id: int) -> NotFound:
    return NotFound(f"certificate {certificate_id} not found", code="certificate-not-found")


def authority_row(row: sa.Row[Any]) -> AuthorityRow:
    return AuthorityRow(
        id=int(row.id),
        env=str(row.env),
        name=str(row.name),
        pki=str(row.pki),
        is_root=bool(row.is_root),
        key_label=str(row.key_label),
        parent_id=None if row.parent_id is None else int(row.parent_id),
        certificate_id=None if row.certificate_id is None else int(row.certificate_id),
        status=str(row.status),
        created_at=row.created_at,
    )


def certificate_row(row: Any) -> CertificateRow:
    """From a row of ``certificates`` (an SQLAlchemy row or a point read's)."""
    return CertificateRow(
        id=int(row.id),
        env=str(row.env),
        authority_id=int(row.authority_id),
        serial=int(row.serial),
        kind=str(row.kind),
        subject_eui=None if row.subject_eui is None else bytes(row.subject_eui),
        role=None if row.role is None else int(row.role),
        key_usage=str(row.key_usage),
        not_before=row.not_before,
        not_after=row.not_after,
        ski=None if row.ski is None else bytes(row.ski),
        der=bytes(row.der),
        status=str(row.status),
        created_at=row.created_at,
    )


def intent_row(row: sa.Row[Any]) -> IntentRow:
    return IntentRow(
        id=int(row.id),
        authority_id=int(row.authority_id),
        serial=int(row.serial),
        kind=str(row.kind),
        tbs_sha256=bytes(row.tbs_sha256),
        state=str(row.state),
        created_at=row.created_at,
    )


def crl_row(row: sa.Row[Any]) -> CrlRow:
    return CrlRow(
        id=int(row.id),
        authority_id=int(row.authority_id),
        list_kind=str(row.list_kind),
        number=int(row.number),
        this_update=row.this_update,
        next_update=row.next_update,
        der=bytes(row.der),
    )


def audit_row(row: sa.Row[Any]) -> AuditRow:
    details_json = str(row.details)
    try:
        parsed = json.loads(details_json)
    except ValueError:
        parsed = None
    # Unreadable details are left for the verifier to report: it hashes details_json, which
    # no longer matches the recorded hash (R-X-1).
    details: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    return AuditRow(
        seq=int(row.seq),
        at=row.at,
        actor=str(row.actor),
        action=str(row.action),
        subject=str(row.subject),
        details=details,
        prev_hash=bytes(row.prev_hash),
        hash=bytes(row.hash),
        details_json=details_json,
    )
