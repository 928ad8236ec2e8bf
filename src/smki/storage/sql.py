"""The SQL store (R-X-2) on SQLite or PostgreSQL, and its transactions.

One ``SqlStore.transaction()`` is one use case: it commits on a clean exit and rolls back on
any exception, so a caller that lets a Conflict propagate leaves nothing behind. Every state
change is a conditional update or a constraint-checked insert, bulk writes use executemany, and
the audit event for a change is appended in the same transaction (R-X-1).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite

from smki.audit.chain import canonical_json, event_hash
from smki.clock import Clock, SystemClock
from smki.errors import Conflict, IntegrityError, StorageError
from smki.storage import schema as t
from smki.storage.api import (
    AuditRow,
    AuthorityRow,
    CertificateFilter,
    ListedCertificate,
    Transaction,
    TransactionBroken,
)
from smki.storage.engine import BEGIN_OPTION, make_engine, translated_errors
from smki.storage.migrate import upgrade
from smki.storage.point_reads import PointReads
from smki.storage.sql_base import audit_row, authority_not_found, authority_row
from smki.storage.sql_batches import BatchSql
from smki.storage.sql_issuance import IssuanceSql
from smki.storage.sql_registration import RegistrationSql
from smki.storage.sql_repository import RepositorySql
from smki.storage.sql_revocation import RevocationSql
from smki.storage.write_lock import SqliteWriteLock

log = logging.getLogger(__name__)

_AUDIT_PAGE: Final = 1000
# The audit statements, built once: building one per event (values inlined) cost three times
# what running it does, on every state change (R-X-1, R-PERF-1).
_AUDIT_HEAD: Final = (
    sa.select(t.audit_head.c.seq, t.audit_head.c.hash)
    .where(t.audit_head.c.id == 1)
    .with_for_update()
)
_AUDIT_INSERT: Final = t.audit_events.insert()
_AUDIT_MOVE: Final = (
    t.audit_head.update()
    .where(t.audit_head.c.id == 1, t.audit_head.c.seq == sa.bindparam("prev_seq"))
    .values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash"))
)
# Likewise for meta and authorities, read or written by every issuance.
_GET_META: Final = sa.select(t.meta.c.value).where(t.meta.c.key == sa.bindparam("key"))
_SET_META: Final = {
    postgresql: insert(t.meta)
    .values(key=sa.bindparam("key"), value=sa.bindparam("value"))
    .on_conflict_do_update(
        index_elements=[t.meta.c.key], set_={"value": insert(t.meta).excluded.value}
    )
    for postgresql, insert in ((False, sqlite.insert), (True, pg.insert))
}
_AUTHORITY: Final = sa.select(t.authorities).where(
    t.authorities.c.env == sa.bindparam("env"), t.authorities.c.name == sa.bindparam("name")
)
_AUTHORITIES_OF_ENV: Final = (
    sa.select(t.authorities)
    .where(t.authorities.c.env == sa.bindparam("env"))
    .order_by(t.authorities.c.id)
)


def default_sqlite_url(home: Path) -> str:
    """The embedded default database: ``smki.db`` in the smki home directory."""
    return f"sqlite:///{home / 'smki.db'}"


def open_store(url: str, *, clock: Clock | None = None) -> SqlStore:
    """Migrate the database at ``url`` to the newest schema, then open it."""
    upgrade(url)
    return SqlStore(url, clock=clock)


class SqlStore:
    """``Store`` on SQLite or PostgreSQL. Thread-safe: each transaction has its own connection.

    ``clock`` dates audit events (R-X-4). The schema must already be migrated (``open_store``).
    """

    def __init__(self, url: str, *, clock: Clock | None = None) -> None:
        self.url = url
        self._engine = make_engine(url)
        self._clock: Clock = clock or SystemClock()
        self._write_lock: AbstractContextManager[object] = nullcontext()
        database = self._engine.url.database
        if self._engine.dialect.name == "sqlite":
            if database and database != ":memory:":
                self._write_lock = SqliteWriteLock(Path(database))
            else:
                self._write_lock = threading.RLock()
        self._point_reads: PointReads | None = None
        self._point_reads_lock = threading.Lock()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One use case, committed whole or rolled back whole.

        On SQLite writers queue for the write lock here, threads and processes alike
        (``write_lock``), rather than in SQLite's busy handler, whose sleeps grow with
        contention and ruin tail latency under concurrent requests."""
        with self._write_lock, self._connection(read_only=False) as conn:
            tx = SqlTransaction(conn, self._clock)
            yield tx
            if not tx.still_open():
                raise TransactionBroken("the database ended the transaction; nothing was kept")
            tx.finish()

    @contextmanager
    def reading(self) -> Iterator[Transaction]:
        """A read-only snapshot: no write lock on SQLite (WAL readers never wait for the
        writer), READ ONLY on PostgreSQL so that a stray write fails loudly (R-REP-4)."""
        with self._connection(read_only=True) as conn:
            tx = SqlTransaction(conn, self._clock)
            yield tx
            if tx.appended():
                raise StorageError("a read-only snapshot cannot append to the audit log")

    def look_up(
        self, env: str, wanted: CertificateFilter, *, limit: int
    ) -> list[ListedCertificate]:
        """One statement on a read-only connection kept for it (``point_reads``, R-REP-4)."""
        return self._reads().list_certificates(env, wanted, limit=limit)

    def look_up_many(
        self, env: str, field: str, keys: Sequence[Any], *, limit: int
    ) -> list[list[ListedCertificate]]:
        """Several keys, one statement per 32 (``point_reads``, R-REP-4)."""
        return self._reads().list_many(env, field, keys, limit=limit)

    def _reads(self) -> PointReads:
        reads = self._point_reads
        if reads is None:
            with self._point_reads_lock:
                if self._point_reads is None:
                    self._point_reads = PointReads(self._engine)
                reads = self._point_reads
        return reads

    def audit_events(self) -> Iterator[AuditRow]:
        """All audit events in sequence order, read a page at a time (R-X-1)."""
        after = 0
        while True:
            with self._connection(read_only=True) as conn, translated_errors():
                rows = conn.execute(
                    sa.select(t.audit_events)
                    .where(t.audit_events.c.seq > after)
                    .order_by(t.audit_events.c.seq)
                    .limit(_AUDIT_PAGE)
                ).all()
            for row in rows:
                yield audit_row(row)
            if len(rows) < _AUDIT_PAGE:
                return
            after = int(rows[-1].seq)

    def audit_head(self) -> tuple[int, bytes] | None:
        """The recorded (seq, hash) of the last event, or None for an empty log."""
        with self._connection(read_only=True) as conn, translated_errors():
            row = conn.execute(
                sa.select(t.audit_head.c.seq, t.audit_head.c.hash).where(t.audit_head.c.id == 1)
            ).one_or_none()
        if row is None or int(row.seq) == 0:
            return None
        return int(row.seq), bytes(row.hash)

    def close(self) -> None:
        if self._point_reads is not None:
            self._point_reads.close()
        self._engine.dispose()

    @contextmanager
    def _connection(self, *, read_only: bool) -> Iterator[sa.Connection]:
        with translated_errors():
            conn = self._engine.connect()
        try:
            if read_only:
                # Readers need no write lock; WAL gives them a consistent snapshot.
                conn.execution_options(**{BEGIN_OPTION: "DEFERRED", "postgresql_readonly": True})
            with translated_errors():
                conn.begin()
            try:
                yield conn
            except BaseException:
                _rollback_quietly(conn)
                raise
            with translated_errors():
                conn.commit()
        finally:
            with translated_errors():
                conn.close()


def _rollback_quietly(conn: sa.Connection) -> None:
    # The exception already propagating says what went wrong; a failing rollback (e.g. a lost
    # connection, which the server rolls back anyway) must not hide it.
    try:
        conn.rollback()
    except sa_exc.SQLAlchemyError as exc:
        log.warning("rollback failed: %s", type(exc).__name__)


class SqlTransaction(IssuanceSql, RevocationSql, RegistrationSql, BatchSql, RepositorySql):
    """``Transaction`` over one open connection inside a database transaction.

    Issuance, revocation, registration and batches live in their own modules; the audit log,
    meta and authorities are here.
    """

    def __init__(self, conn: sa.Connection, clock: Clock) -> None:
        super().__init__(conn, clock)
        # The audit head as this transaction moved it, and as it was read (locked) from the
        # store; the events appended since, written together with the head by ``finish``.
        self._head: tuple[int, bytes] | None = None
        self._head_stored = 0
        self._events: list[dict[str, Any]] = []

    @contextmanager
    def isolated(self) -> Iterator[None]:
        """A savepoint; if the block raises, the audit events it appended go with it."""
        head, appended = self._head, len(self._events)
        try:
            with super().isolated():
                yield
        except BaseException:
            self._head = head
            del self._events[appended:]
            raise

    def appended(self) -> int:
        """Audit events appended and not written yet."""
        return len(self._events)

    def finish(self) -> None:
        """Write what the transaction kept for its end: its audit events, in one statement,
        and the head, moved once (``Store.transaction`` calls it before committing)."""
        if self._head is None or self._head[0] == self._head_stored:
            return
        events, self._events = self._events, []
        self._fast(_AUDIT_INSERT, events)
        seq, digest = self._head
        moved = self._fast(
            _AUDIT_MOVE, {"prev_seq": self._head_stored, "new_seq": seq, "new_hash": digest}
        ).rowcount
        if moved != 1:
            raise IntegrityError("the audit log head moved underneath", code="audit-head")
        self._head_stored = seq

    # -- audit (R-X-1) ----------------------------------------------------------------------
    def audit(self, actor: str, action: str, subject: str, details: dict[str, Any]) -> int:
        """Append a hash-chained event in this transaction (R-X-1). The transaction's events
        and its head are written together when it ends (``finish``), so that many events cost
        one statement; within it, ``isolated`` blocks take theirs back if they raise.

        PostgreSQL: the head row is locked FOR UPDATE, so appenders in other processes queue
        behind this transaction. SQLite: BEGIN IMMEDIATE already serialises writers (and
        SQLAlchemy renders no FOR UPDATE there).
        """
        try:
            details_json = canonical_json(details)
        except (TypeError, ValueError):
            raise StorageError(
                "audit details must be a JSON object of JSON values", code="bad-audit-details"
            ) from None
        if self._head is None:
            # Read once per transaction, locked (FOR UPDATE on PostgreSQL; SQLite's writer
            # holds its write lock): no other appender moves it until this one commits.
            row = self._fast(_AUDIT_HEAD, {}).first()
            if row is None:
                raise IntegrityError(
                    "the audit log head is missing", code="audit-head", rid="R-X-1"
                )
            self._head = (int(row.seq), bytes(row.hash))
            self._head_stored = self._head[0]
        prev_seq, prev_hash = self._head
        seq = prev_seq + 1
        at = self._clock.now()
        if at.tzinfo is None or at.utcoffset() is None:
            raise StorageError("the clock gave a naive datetime", code="unstorable-value")
        digest = event_hash(seq, at, actor, action, subject, details_json, prev_hash)
        self._events.append(
            {
                "seq": seq,
                "at": at,
                "actor": actor,
                "action": action,
                "subject": subject,
                "details": details_json,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        self._head = (seq, digest)
        return seq

    # -- meta -------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._fast(_GET_META, {"key": key}).first()
        return None if row is None else str(row.value)

    def set_meta(self, key: str, value: str) -> None:
        self._fast(_SET_META[self._conn.dialect.name == "postgresql"], {"key": key, "value": value})

    # -- authorities ------------------------------------------------------------------------
    def add_authority(
        self,
        env: str,
        name: str,
        pki: str,
        is_root: bool,
        key_label: str,
        parent_id: int | None,
    ) -> int:
        """Conflict (``duplicate-authority``) if (env, name) exists."""
        if self.authority(env, name) is not None:
            raise _duplicate_authority(env, name)
        try:
            result = self._run(
                t.authorities.insert()
                .values(
                    env=env,
                    name=name,
                    pki=pki,
                    is_root=is_root,
                    key_label=key_label,
                    parent_id=parent_id,
                    certificate_id=None,
                    status="active",
                    created_at=self._clock.now(),
                )
                .returning(t.authorities.c.id)
            )
        except Conflict:
            # Another process created it between our check and our insert.
            raise _duplicate_authority(env, name) from None
        return int(result.scalar_one())

    def set_authority_certificate(self, authority_id: int, certificate_id: int) -> None:
        self._require_certificate(certificate_id)
        updated = self._run(
            t.authorities.update()
            .where(t.authorities.c.id == authority_id)
            .values(certificate_id=certificate_id)
        ).rowcount
        if updated == 0:
            raise authority_not_found(authority_id)

    def set_authority_status(self, authority_id: int, status: str) -> bool:
        """Conditional update; False if it already had that status."""
        updated = self._run(
            t.authorities.update()
            .where(t.authorities.c.id == authority_id, t.authorities.c.status != status)
            .values(status=status)
        ).rowcount
        if updated == 0:
            self.authority_by_id(authority_id)  # NotFound if there is no such authority
            return False
        return True

    def authority(self, env: str, name: str) -> AuthorityRow | None:
        row = self._fast(_AUTHORITY, {"env": env, "name": name}).first()
        return None if row is None else authority_row(row)

    def authority_by_id(self, authority_id: int) -> AuthorityRow:
        row = self._first(sa.select(t.authorities).where(t.authorities.c.id == authority_id))
        if row is None:
            raise authority_not_found(authority_id)
        return authority_row(row)

    def authorities(self, env: str | None = None) -> list[AuthorityRow]:
        if env is not None:
            rows = self._fast(_AUTHORITIES_OF_ENV, {"env": env}).all()
        else:
            rows = self._all(sa.select(t.authorities).order_by(t.authorities.c.id))
        return [authority_row(r) for r in rows]


def _duplicate_authority(env: str, name: str) -> Conflict:
    return Conflict(f"authority {env}/{name} already exists", code="duplicate-authority")
