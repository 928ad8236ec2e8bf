"""The SQL store (R-X-2) on SQLite or PostgreSQL, and its transactions.

One ``SqlStore.transaction()`` is one use case: it commits on a clean exit and rolls back on
any exception, so a caller that lets a Conflict propagate leaves nothing behind. Every state
change is a conditional update or a constraint-checked insert, bulk writes use executemany, and
the audit event for a change is appended in the same transaction (R-X-1).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite

from smki.audit.chain import canonical_json, event_hash
from smki.clock import Clock, SystemClock
from smki.errors import Conflict, IntegrityError, NotFound, StorageError
from smki.storage import schema as t
from smki.storage.api import (
    AuditRow,
    AuthorityRow,
    CertificateRow,
    CrlRow,
    IntentRow,
    NewCertificate,
    RevokedEntry,
    Transaction,
)
from smki.storage.engine import BEGIN_OPTION, make_engine, translated_errors
from smki.storage.migrate import upgrade

log = logging.getLogger(__name__)

#: Ids or serials per IN (…) list: far below SQLite's and PostgreSQL's parameter limits.
_CHUNK: Final = 1000
_AUDIT_PAGE: Final = 1000
_INTENT_STATES: Final = frozenset({"done", "abandoned"})

_T = TypeVar("_T")


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

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One use case, committed whole or rolled back whole."""
        with self._connection(read_only=False) as conn:
            yield SqlTransaction(conn, self._clock)

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
                yield _audit_row(row)
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
        self._engine.dispose()

    @contextmanager
    def _connection(self, *, read_only: bool) -> Iterator[sa.Connection]:
        with translated_errors():
            conn = self._engine.connect()
        try:
            if read_only:
                # Readers need no write lock; WAL gives them a consistent snapshot.
                conn.execution_options(**{BEGIN_OPTION: "DEFERRED"})
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


class SqlTransaction:
    """``Transaction`` over one open SQLAlchemy connection inside a database transaction."""

    def __init__(self, conn: sa.Connection, clock: Clock) -> None:
        self._conn = conn
        self._clock = clock

    def _run(self, stmt: sa.Executable, params: Any = None) -> sa.CursorResult[Any]:
        with translated_errors():
            return self._conn.execute(stmt, params)

    def _all(self, stmt: sa.Executable) -> list[sa.Row[Any]]:
        with translated_errors():
            return list(self._conn.execute(stmt).all())

    def _first(self, stmt: sa.Executable) -> sa.Row[Any] | None:
        with translated_errors():
            return self._conn.execute(stmt).first()

    # -- audit (R-X-1) ----------------------------------------------------------------------
    def audit(self, actor: str, action: str, subject: str, details: dict[str, Any]) -> int:
        """Append a hash-chained event and move the head, in this transaction (R-X-1).

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
        head = self._first(
            sa.select(t.audit_head.c.seq, t.audit_head.c.hash)
            .where(t.audit_head.c.id == 1)
            .with_for_update()
        )
        if head is None:
            raise IntegrityError("the audit log head is missing", code="audit-head", rid="R-X-1")
        prev_seq, prev_hash = int(head.seq), bytes(head.hash)
        seq = prev_seq + 1
        at = self._clock.now()
        digest = event_hash(seq, at, actor, action, subject, details_json, prev_hash)
        self._run(
            t.audit_events.insert().values(
                seq=seq,
                at=at,
                actor=actor,
                action=action,
                subject=subject,
                details=details_json,
                prev_hash=prev_hash,
                hash=digest,
            )
        )
        moved = self._run(
            t.audit_head.update()
            .where(t.audit_head.c.id == 1, t.audit_head.c.seq == prev_seq)
            .values(seq=seq, hash=digest)
        ).rowcount
        if moved != 1:
            raise IntegrityError("the audit log head moved underneath", code="audit-head")
        return seq

    # -- meta -------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._first(sa.select(t.meta.c.value).where(t.meta.c.key == key))
        return None if row is None else str(row.value)

    def set_meta(self, key: str, value: str) -> None:
        insert = pg.insert if self._conn.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(t.meta).values(key=key, value=value)
        self._run(stmt.on_conflict_do_update(index_elements=[t.meta.c.key], set_={"value": value}))

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
        if self._first(sa.select(t.certificates.c.id).where(t.certificates.c.id == certificate_id)) is None:
            raise NotFound(f"certificate {certificate_id} not found", code="certificate-not-found")
        updated = self._run(
            t.authorities.update()
            .where(t.authorities.c.id == authority_id)
            .values(certificate_id=certificate_id)
        ).rowcount
        if updated == 0:
            raise _authority_not_found(authority_id)

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
        row = self._first(
            sa.select(t.authorities).where(t.authorities.c.env == env, t.authorities.c.name == name)
        )
        return None if row is None else _authority_row(row)

    def authority_by_id(self, authority_id: int) -> AuthorityRow:
        row = self._first(sa.select(t.authorities).where(t.authorities.c.id == authority_id))
        if row is None:
            raise _authority_not_found(authority_id)
        return _authority_row(row)

    def authorities(self, env: str | None = None) -> list[AuthorityRow]:
        stmt = sa.select(t.authorities).order_by(t.authorities.c.id)
        if env is not None:
            stmt = stmt.where(t.authorities.c.env == env)
        return [_authority_row(r) for r in self._all(stmt)]

    # -- issuance (R-CA-4) ------------------------------------------------------------------
    def reserve_intents(
        self, authority_id: int, items: Sequence[tuple[int, str, bytes]], at: dt.datetime
    ) -> list[int]:
        """Reserve (serial, kind, tbs_sha256) intents in bulk; Conflict (``duplicate-serial``)
        on a serial already used by this issuer, as an intent or a certificate (R-PROF-3)."""
        if not items:
            return []
        serials = [serial for serial, _, _ in items]
        with translated_errors():
            for serial in serials:
                t.encode_serial(serial)
        if len(set(serials)) != len(serials):
            raise Conflict("a serial appears twice in the batch", code="duplicate-serial",
                           rid="R-PROF-3")
        for chunk in _chunks(serials):
            used = self._first(
                sa.union_all(
                    sa.select(t.issuance_intents.c.serial).where(
                        t.issuance_intents.c.authority_id == authority_id,
                        t.issuance_intents.c.serial.in_(chunk),
                    ),
                    sa.select(t.certificates.c.serial).where(
                        t.certificates.c.authority_id == authority_id,
                        t.certificates.c.serial.in_(chunk),
                    ),
                ).limit(1)
            )
            if used is not None:
                raise _duplicate_serial()
        rows = [
            {
                "authority_id": authority_id,
                "serial": serial,
                "kind": kind,
                "tbs_sha256": tbs_sha256,
                "state": "pending",
                "created_at": at,
                "finished_at": None,
            }
            for serial, kind, tbs_sha256 in items
        ]
        try:
            return self._insert_many(t.issuance_intents, rows)
        except Conflict:
            # A concurrent reservation of the same serial won the race.
            raise _duplicate_serial() from None

    def pending_intents(self) -> list[IntentRow]:
        stmt = (
            sa.select(t.issuance_intents)
            .where(t.issuance_intents.c.state == "pending")
            .order_by(t.issuance_intents.c.id)
        )
        return [_intent_row(r) for r in self._all(stmt)]

    def finish_intents(self, intent_ids: Sequence[int], state: str, at: dt.datetime) -> None:
        """Mark intents "done" or "abandoned" (only those still pending)."""
        if state not in _INTENT_STATES:
            raise StorageError(f"unknown intent state {state!r}", code="bad-intent-state")
        for chunk in _chunks(intent_ids):
            self._run(
                t.issuance_intents.update()
                .where(
                    t.issuance_intents.c.id.in_(chunk),
                    t.issuance_intents.c.state == "pending",
                )
                .values(state=state, finished_at=at)
            )

    def add_certificates(self, rows: Sequence[NewCertificate], at: dt.datetime) -> list[int]:
        """Bulk insert (executemany); marks each row's intent done. Returns ids in order.

        An intent that is not pending, or was reserved for another issuer or serial, is a
        Conflict: a certificate must never be stored for an intent recovery has abandoned.
        """
        if not rows:
            return []
        envs = self._authority_envs({r.authority_id for r in rows})
        intent_ids = [r.intent_id for r in rows if r.intent_id is not None]
        if intent_ids:
            self._check_intents(rows, intent_ids)
        values = [
            {
                "env": envs[r.authority_id],
                "authority_id": r.authority_id,
                "serial": r.serial,
                "kind": r.kind,
                "subject_eui": r.subject_eui,
                "role": r.role,
                "key_usage": r.key_usage,
                "not_before": r.not_before,
                "not_after": r.not_after,
                "ski": r.ski,
                "der": r.der,
                "status": "in-use",
                "created_at": at,
                "intent_id": r.intent_id,
            }
            for r in rows
        ]
        try:
            ids = self._insert_many(t.certificates, values)
        except Conflict:
            raise _duplicate_serial() from None
        self.finish_intents(intent_ids, "done", at)
        return ids

    def certificate(self, certificate_id: int) -> CertificateRow:
        row = self._first(sa.select(t.certificates).where(t.certificates.c.id == certificate_id))
        if row is None:
            raise NotFound(f"certificate {certificate_id} not found", code="certificate-not-found")
        return _certificate_row(row)

    def certificate_by_serial(self, env: str, serial: int) -> list[CertificateRow]:
        """All certificates in ``env`` with that serial (unique per issuer, not globally)."""
        try:
            t.encode_serial(serial)
        except t.UnstorableValue:
            return []  # no stored certificate can have it
        stmt = (
            sa.select(t.certificates)
            .where(t.certificates.c.env == env, t.certificates.c.serial == serial)
            .order_by(t.certificates.c.id)
        )
        return [_certificate_row(r) for r in self._all(stmt)]

    def certificate_for_intent(self, intent_id: int) -> CertificateRow | None:
        row = self._first(sa.select(t.certificates).where(t.certificates.c.intent_id == intent_id))
        return None if row is None else _certificate_row(row)

    def count_certificates(self, env: str | None = None) -> int:
        stmt = sa.select(sa.func.count()).select_from(t.certificates)
        if env is not None:
            stmt = stmt.where(t.certificates.c.env == env)
        with translated_errors():
            return int(self._conn.execute(stmt).scalar_one())

    # -- revocation (R-SI-4, R-REP-5) -------------------------------------------------------
    def revoke(self, certificate_id: int, reason: str, at: dt.datetime) -> bool:
        """Conditional: False if already revoked; NotFound if there is no such certificate."""
        updated = self._run(
            t.certificates.update()
            .where(t.certificates.c.id == certificate_id, t.certificates.c.status != "revoked")
            .values(status="revoked")
        ).rowcount
        if updated == 0:
            self.certificate(certificate_id)
            return False
        self._run(
            t.revocations.insert().values(
                certificate_id=certificate_id, reason=reason, revoked_at=at
            )
        )
        return True

    def revoked_entries(
        self,
        authority_id: int,
        kinds: Sequence[str] | None,
        exclude_kinds: Sequence[str] | None = None,
    ) -> list[RevokedEntry]:
        """Revoked certificates issued by ``authority_id``, filtered by profile kind.

        ``kinds`` None means every kind; an empty ``kinds`` means none.
        """
        c, r = t.certificates, t.revocations
        stmt = (
            sa.select(c.c.serial, r.c.revoked_at, r.c.reason)
            .join(r, r.c.certificate_id == c.c.id)
            .where(c.c.authority_id == authority_id)
            .order_by(r.c.revoked_at, c.c.id)
        )
        if kinds is not None:
            stmt = stmt.where(c.c.kind.in_(list(kinds)))
        if exclude_kinds:
            stmt = stmt.where(c.c.kind.not_in(list(exclude_kinds)))
        return [
            RevokedEntry(serial=int(row.serial), revoked_at=row.revoked_at, reason=str(row.reason))
            for row in self._all(stmt)
        ]

    # -- CRLs and ARLs (R-REP-5) ------------------------------------------------------------
    def next_crl_number(self, authority_id: int, list_kind: str) -> int:
        stmt = sa.select(sa.func.max(t.crls.c.number)).where(
            t.crls.c.authority_id == authority_id, t.crls.c.list_kind == list_kind
        )
        with translated_errors():
            current = self._conn.execute(stmt).scalar_one_or_none()
        return 1 if current is None else int(current) + 1

    def add_crl(
        self,
        authority_id: int,
        list_kind: str,
        number: int,
        this_update: dt.datetime,
        next_update: dt.datetime,
        der: bytes,
    ) -> int:
        """Conflict (``duplicate-crl-number``) if that number was already issued."""
        try:
            result = self._run(
                t.crls.insert()
                .values(
                    authority_id=authority_id,
                    list_kind=list_kind,
                    number=number,
                    this_update=this_update,
                    next_update=next_update,
                    der=der,
                )
                .returning(t.crls.c.id)
            )
        except Conflict:
            raise Conflict(
                f"{list_kind} number {number} was already issued", code="duplicate-crl-number"
            ) from None
        return int(result.scalar_one())

    def latest_crl(self, authority_id: int, list_kind: str) -> CrlRow | None:
        row = self._first(
            sa.select(t.crls)
            .where(t.crls.c.authority_id == authority_id, t.crls.c.list_kind == list_kind)
            .order_by(t.crls.c.number.desc())
            .limit(1)
        )
        return None if row is None else _crl_row(row)

    # -- helpers ----------------------------------------------------------------------------
    def _insert_many(self, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
        # executemany with RETURNING; SQLAlchemy batches it ("insertmanyvalues") and
        # sort_by_parameter_order guarantees ids come back in input order on both databases.
        stmt = table.insert().returning(table.c.id, sort_by_parameter_order=True)
        return [int(i) for i in self._run(stmt, rows).scalars().all()]

    def _authority_envs(self, authority_ids: set[int]) -> dict[int, str]:
        envs: dict[int, str] = {}
        for chunk in _chunks(sorted(authority_ids)):
            for row in self._all(
                sa.select(t.authorities.c.id, t.authorities.c.env).where(
                    t.authorities.c.id.in_(chunk)
                )
            ):
                envs[int(row.id)] = str(row.env)
        for authority_id in authority_ids:
            if authority_id not in envs:
                raise _authority_not_found(authority_id)
        return envs

    def _check_intents(self, rows: Sequence[NewCertificate], intent_ids: list[int]) -> None:
        if len(set(intent_ids)) != len(intent_ids):
            raise Conflict("an intent appears twice in the batch", code="intent-mismatch")
        found: dict[int, sa.Row[Any]] = {}
        for chunk in _chunks(intent_ids):
            for row in self._all(
                sa.select(
                    t.issuance_intents.c.id,
                    t.issuance_intents.c.authority_id,
                    t.issuance_intents.c.serial,
                    t.issuance_intents.c.state,
                ).where(t.issuance_intents.c.id.in_(chunk))
            ):
                found[int(row.id)] = row
        for r in rows:
            if r.intent_id is None:
                continue
            intent = found.get(r.intent_id)
            if intent is None:
                raise NotFound(f"intent {r.intent_id} not found", code="intent-not-found")
            if intent.state != "pending":
                raise Conflict(
                    f"intent {r.intent_id} is {intent.state}, not pending",
                    code="intent-not-pending",
                    rid="R-CA-4",
                )
            if int(intent.authority_id) != r.authority_id or int(intent.serial) != r.serial:
                raise Conflict(
                    f"intent {r.intent_id} was reserved for another issuer or serial",
                    code="intent-mismatch",
                    rid="R-CA-4",
                )


def _chunks(values: Sequence[_T]) -> Iterable[list[_T]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start : start + _CHUNK])


def _duplicate_serial() -> Conflict:
    return Conflict("a serial is already used by this issuer", code="duplicate-serial",
                    rid="R-PROF-3")


def _duplicate_authority(env: str, name: str) -> Conflict:
    return Conflict(f"authority {env}/{name} already exists", code="duplicate-authority")


def _authority_not_found(authority_id: int) -> NotFound:
    return NotFound(f"authority {authority_id} not found", code="authority-not-found")


def _authority_row(row: sa.Row[Any]) -> AuthorityRow:
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


def _certificate_row(row: sa.Row[Any]) -> CertificateRow:
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


def _intent_row(row: sa.Row[Any]) -> IntentRow:
    return IntentRow(
        id=int(row.id),
        authority_id=int(row.authority_id),
        serial=int(row.serial),
        kind=str(row.kind),
        tbs_sha256=bytes(row.tbs_sha256),
        state=str(row.state),
        created_at=row.created_at,
    )


def _crl_row(row: sa.Row[Any]) -> CrlRow:
    return CrlRow(
        id=int(row.id),
        authority_id=int(row.authority_id),
        list_kind=str(row.list_kind),
        number=int(row.number),
        this_update=row.this_update,
        next_update=row.next_update,
        der=bytes(row.der),
    )


def _audit_row(row: sa.Row[Any]) -> AuditRow:
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
