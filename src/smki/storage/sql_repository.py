"""The SMKI Repository's storage (R-REP-1..6, R-DOC-1, R-DOC-2, R-GOV-3).

Searches use the indexes on serial, subject EUI-64, role and creation time and page by id
(keyset pagination), so a page costs the same at the millionth certificate as at the first.
Status is derived in the query (revoked, then suspended, then expired, else in use), never
stored twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from smki.errors import InputError
from smki.storage import schema as t
from smki.storage.api import (
    CERTIFICATE_STATUSES,
    CertificateFilter,
    CertificateRow,
    CrlRow,
    DocumentRow,
    ListedCertificate,
    RevocationRow,
    SessionRow,
    SuspensionRow,
)
from smki.storage.sql_base import SqlBase, certificate_row, chunks, crl_row

_c = t.certificates
_s = t.certificate_suspensions


def _active_suspension() -> sa.Exists:
    return (
        sa.select(_s.c.id).where(_s.c.certificate_id == _c.c.id, _s.c.lifted_at.is_(None)).exists()
    )


def _status_clause(status: str) -> sa.ColumnElement[bool]:
    """The derived status as SQL; the moment it is judged at is the ``now`` parameter."""
    if status not in CERTIFICATE_STATUSES:
        raise InputError(
            f"unknown certificate status {status!r}; use one of {', '.join(CERTIFICATE_STATUSES)}",
            code="bad-status",
            rid="R-REP-2",
        )
    if status == "revoked":
        return _c.c.status == "revoked"
    not_revoked = _c.c.status != "revoked"
    if status == "suspended":
        return sa.and_(not_revoked, _active_suspension())
    not_suspended = ~_active_suspension()
    now = sa.bindparam("now", type_=t.UtcDateTime())
    if status == "expired":
        return sa.and_(not_revoked, not_suspended, _c.c.not_after < now)
    return sa.and_(not_revoked, not_suspended, _c.c.not_after >= now)


#: The equality filters, by CertificateFilter field: (column, parameter name).
_EQUALITIES: dict[str, sa.Column[Any]] = {
    "serial": _c.c.serial,
    "eui": _c.c.subject_eui,
    "role": _c.c.role,
    "key_usage": _c.c.key_usage,
    "authority_id": _c.c.authority_id,
    "kind": _c.c.kind,
}
#: (equality fields present, status) → the prepared statement. Each shape is built, and its
#: SQL compiled, once per process: a look-up then costs only its execution (R-REP-4).
_LISTINGS: dict[tuple[tuple[str, ...], str | None], sa.Select[Any]] = {}


def serial_in_range(serial: int | None) -> bool:
    """A serial wider than the store holds (R-PROF-3: 16 octets) names no certificate; it
    must not reach the column type, which refuses it as unstorable (a 503)."""
    return serial is not None and 0 < serial < 1 << (4 * t.SERIAL_HEX_DIGITS)


def listed_certificate(row: Any) -> ListedCertificate:
    """A row of ``listing`` as the repository shows it."""
    revocation = (
        None
        if row.revoked_at is None
        else RevocationRow(int(row.id), str(row.revocation_reason), row.revoked_at)
    )
    return ListedCertificate(certificate_row(row), revocation, bool(row.suspended))


def _listed(*extra: sa.ColumnElement[Any]) -> sa.Select[Any]:
    """A certificate with its revocation and whether a suspension is in force (R-REP-2)."""
    r = t.revocations
    return sa.select(
        _c,
        r.c.reason.label("revocation_reason"),
        r.c.revoked_at.label("revoked_at"),
        _active_suspension().label("suspended"),
        *extra,
    ).outerjoin(r, r.c.certificate_id == _c.c.id)


def listing(fields: tuple[str, ...], status: str | None) -> sa.Select[Any]:
    key = (fields, status)
    stmt = _LISTINGS.get(key)
    if stmt is None:
        clauses = [_c.c.env == sa.bindparam("env"), _c.c.id > sa.bindparam("after_id")]
        clauses += [_EQUALITIES[name] == sa.bindparam(name) for name in fields]
        if status is not None:
            clauses.append(_status_clause(status))
        stmt = (
            _listed()
            .where(*clauses)
            .order_by(_c.c.id)
            .limit(sa.bindparam("limit", type_=sa.Integer()))
        )
        _LISTINGS[key] = stmt
    return stmt


#: (field, how many keys) → the statement listing the certificates of several keys at once.
_MANY: dict[tuple[str, int], sa.Select[Any]] = {}


def many_listing(field: str, count: int) -> sa.Select[Any]:
    """``listing((field,), None)`` for ``count`` keys at once (parameters ``key0``…): each
    key's certificates in id order, at most ``limit`` per key, keys told apart by their
    column. Built once per (field, count)."""
    stmt = _MANY.get((field, count))
    if stmt is None:
        column = _EQUALITIES[field]
        rank = sa.func.row_number().over(partition_by=column, order_by=_c.c.id)
        inner = (
            _listed(rank.label("key_rank"))
            .where(
                _c.c.env == sa.bindparam("env"),
                column.in_([sa.bindparam(f"key{i}", type_=column.type) for i in range(count)]),
            )
            .subquery("keyed")
        )
        stmt = (
            sa.select(*(c for c in inner.c if c.key != "key_rank"))
            .where(inner.c.key_rank <= sa.bindparam("limit", type_=sa.Integer()))
            .order_by(inner.c.id)
        )
        _MANY[(field, count)] = stmt
    return stmt


def _suspension_row(row: sa.Row[Any], *, joined: bool = False) -> SuspensionRow:
    """A suspension from its own row, or (``joined``) from one joined to its certificate,
    where ``id`` is the certificate's and the suspension's is ``suspension_id``."""
    return SuspensionRow(
        id=int(row.suspension_id if joined else row.id),
        certificate_id=int(row.id if joined else row.certificate_id),
        decision=str(row.decision),
        suspended_by=str(row.suspended_by),
        suspended_at=row.suspended_at,
        lifted_by=row.lifted_by,
        lifted_at=row.lifted_at,
        lift_decision=row.lift_decision,
    )


#: The suspension's own columns beside a certificate's (whose ``id`` they must not shadow).
_SUSPENSION_FIELDS = (
    _s.c.decision,
    _s.c.suspended_by,
    _s.c.suspended_at,
    _s.c.lifted_by,
    _s.c.lifted_at,
    _s.c.lift_decision,
)


def _document_row(row: sa.Row[Any], *, with_content: bool) -> DocumentRow:
    return DocumentRow(
        id=int(row.id),
        env=str(row.env),
        kind=str(row.kind),
        version=int(row.version),
        title=str(row.title),
        media_type=str(row.media_type),
        sha256=bytes(row.sha256),
        size=int(row.size),
        confidential=bool(row.confidential),
        approved_by=str(row.approved_by),
        published_at=row.published_at,
        published_by=str(row.published_by),
        content=bytes(row.content) if with_content else b"",
    )


def _session_row(row: sa.Row[Any]) -> SessionRow:
    return SessionRow(
        token_hash=bytes(row.token_hash),
        env=str(row.env),
        officer_id=int(row.officer_id),
        party_id=int(row.party_id),
        created_at=row.created_at,
        expires_at=row.expires_at,
        ended_at=row.ended_at,
    )


_d = t.documents
_DOCUMENT_LISTING = (
    _d.c.id,
    _d.c.env,
    _d.c.kind,
    _d.c.version,
    _d.c.title,
    _d.c.media_type,
    _d.c.sha256,
    sa.func.length(_d.c.content).label("size"),
    _d.c.confidential,
    _d.c.approved_by,
    _d.c.published_at,
    _d.c.published_by,
)


class RepositorySql(SqlBase):
    """The repository part of ``Transaction``."""

    # -- certificates (R-REP-1, R-REP-2) ----------------------------------------------------
    def find_certificates(
        self,
        env: str,
        wanted: CertificateFilter,
        now: dt.datetime,
        *,
        after_id: int = 0,
        limit: int = 100,
    ) -> list[CertificateRow]:
        listed = self.list_certificates(env, wanted, now, after_id=after_id, limit=limit)
        return [item.row for item in listed]

    def list_certificates(
        self,
        env: str,
        wanted: CertificateFilter,
        now: dt.datetime,
        *,
        after_id: int = 0,
        limit: int = 100,
    ) -> list[ListedCertificate]:
        if wanted.serial is not None and not serial_in_range(wanted.serial):
            return []
        values: dict[str, Any] = {"env": env, "after_id": after_id, "limit": limit, "now": now}
        fields = tuple(name for name in _EQUALITIES if getattr(wanted, name) is not None)
        values.update({name: getattr(wanted, name) for name in fields})
        stmt = listing(fields, wanted.status)
        if wanted.status not in ("in-use", "expired"):
            del values["now"]
        return [listed_certificate(row) for row in self._run(stmt, values).all()]

    def certificates_created(
        self, env: str, since: dt.datetime | None, until: dt.datetime, *, after_id: int, limit: int
    ) -> list[CertificateRow]:
        stmt = sa.select(_c).where(_c.c.env == env, _c.c.created_at < until, _c.c.id > after_id)
        if since is not None:
            stmt = stmt.where(_c.c.created_at >= since)
        return [certificate_row(row) for row in self._all(stmt.order_by(_c.c.id).limit(limit))]

    def revocations_of(self, certificate_ids: Sequence[int]) -> dict[int, RevocationRow]:
        r = t.revocations
        found: dict[int, RevocationRow] = {}
        for chunk in chunks(list(certificate_ids)):
            for row in self._all(sa.select(r).where(r.c.certificate_id.in_(chunk))):
                found[int(row.certificate_id)] = RevocationRow(
                    int(row.certificate_id), str(row.reason), row.revoked_at
                )
        return found

    def revocations_between(
        self, env: str, since: dt.datetime | None, until: dt.datetime
    ) -> list[tuple[CertificateRow, RevocationRow]]:
        r = t.revocations
        stmt = (
            sa.select(_c, r.c.reason, r.c.revoked_at)
            .join(r, r.c.certificate_id == _c.c.id)
            .where(_c.c.env == env, r.c.revoked_at < until)
            .order_by(r.c.revoked_at, _c.c.id)
        )
        if since is not None:
            stmt = stmt.where(r.c.revoked_at >= since)
        return [
            (certificate_row(row), RevocationRow(int(row.id), str(row.reason), row.revoked_at))
            for row in self._all(stmt)
        ]

    # -- suspension (R-GOV-3) ---------------------------------------------------------------
    def suspended_ids(self, certificate_ids: Sequence[int]) -> set[int]:
        found: set[int] = set()
        for chunk in chunks(list(certificate_ids)):
            stmt = sa.select(_s.c.certificate_id).where(
                _s.c.certificate_id.in_(chunk), _s.c.lifted_at.is_(None)
            )
            found.update(int(row.certificate_id) for row in self._all(stmt))
        return found

    def suspend_certificate(
        self, certificate_id: int, decision: str, by: str, at: dt.datetime
    ) -> int | None:
        self._require_certificate(certificate_id)
        # Lock the certificate row so that two suspensions cannot both see "none active".
        self._first(sa.select(_c.c.id).where(_c.c.id == certificate_id).with_for_update())
        if self.suspended_ids([certificate_id]):
            return None
        inserted = self._run(
            _s.insert()
            .values(
                certificate_id=certificate_id, decision=decision, suspended_by=by, suspended_at=at
            )
            .returning(_s.c.id)
        )
        return int(inserted.scalar_one())

    def lift_suspension(self, certificate_id: int, decision: str, by: str, at: dt.datetime) -> bool:
        updated = self._run(
            _s.update()
            .where(_s.c.certificate_id == certificate_id, _s.c.lifted_at.is_(None))
            .values(lifted_at=at, lifted_by=by, lift_decision=decision)
        ).rowcount
        return bool(updated)

    def suspensions(self, certificate_id: int) -> list[SuspensionRow]:
        stmt = sa.select(_s).where(_s.c.certificate_id == certificate_id).order_by(_s.c.id)
        return [_suspension_row(row) for row in self._all(stmt)]

    def active_suspensions(
        self, env: str, at: dt.datetime
    ) -> list[tuple[CertificateRow, SuspensionRow]]:
        return self._joined_suspensions(
            _c.c.env == env,
            _s.c.suspended_at < at,
            sa.or_(_s.c.lifted_at.is_(None), _s.c.lifted_at >= at),
        )

    def suspension_changes(
        self, env: str, since: dt.datetime | None, until: dt.datetime
    ) -> list[tuple[CertificateRow, SuspensionRow]]:
        def within(column: sa.ColumnElement[dt.datetime]) -> sa.ColumnElement[bool]:
            if since is None:
                return column < until
            return sa.and_(column >= since, column < until)

        return self._joined_suspensions(
            _c.c.env == env, sa.or_(within(_s.c.suspended_at), within(_s.c.lifted_at))
        )

    def _joined_suspensions(
        self, *where: sa.ColumnElement[bool]
    ) -> list[tuple[CertificateRow, SuspensionRow]]:
        """Suspensions matching ``where``, each with its certificate, by suspension id."""
        stmt = (
            sa.select(_c, _s.c.id.label("suspension_id"), *_SUSPENSION_FIELDS)
            .join(_s, _s.c.certificate_id == _c.c.id)
            .where(*where)
            .order_by(_s.c.id)
        )
        return [
            (certificate_row(row), _suspension_row(row, joined=True)) for row in self._all(stmt)
        ]

    # -- CRLs and ARLs (R-REP-1, R-REP-5) ---------------------------------------------------
    def crls(self, authority_id: int, list_kind: str) -> list[CrlRow]:
        c = t.crls
        stmt = (
            sa.select(
                c.c.id,
                c.c.authority_id,
                c.c.list_kind,
                c.c.number,
                c.c.this_update,
                c.c.next_update,
                sa.literal(b"", sa.LargeBinary).label("der"),
            )
            .where(c.c.authority_id == authority_id, c.c.list_kind == list_kind)
            .order_by(c.c.number)
        )
        return [crl_row(row) for row in self._all(stmt)]

    def crl_by_number(self, authority_id: int, list_kind: str, number: int) -> CrlRow | None:
        c = t.crls
        row = self._first(
            sa.select(c).where(
                c.c.authority_id == authority_id, c.c.list_kind == list_kind, c.c.number == number
            )
        )
        return None if row is None else crl_row(row)

    def crls_between(self, env: str, since: dt.datetime | None, until: dt.datetime) -> list[CrlRow]:
        c, a = t.crls, t.authorities
        stmt = (
            sa.select(c)
            .join(a, a.c.id == c.c.authority_id)
            .where(a.c.env == env, c.c.this_update < until)
            .order_by(c.c.authority_id, c.c.list_kind, c.c.number)
        )
        if since is not None:
            stmt = stmt.where(c.c.this_update >= since)
        return [crl_row(row) for row in self._all(stmt)]

    # -- documents (R-DOC-1, R-DOC-2) -------------------------------------------------------
    def add_document(
        self,
        env: str,
        kind: str,
        title: str,
        media_type: str,
        content: bytes,
        confidential: bool,
        approved_by: str,
        by: str,
        at: dt.datetime,
    ) -> DocumentRow:
        current = self._scalar(
            sa.select(sa.func.max(_d.c.version)).where(_d.c.env == env, _d.c.kind == kind)
        )
        version = 1 if current is None else int(current) + 1
        # Two publishers racing for one version number meet the unique constraint: Conflict.
        self._run(
            _d.insert().values(
                env=env,
                kind=kind,
                version=version,
                title=title,
                media_type=media_type,
                content=content,
                sha256=hashlib.sha256(content).digest(),
                confidential=confidential,
                approved_by=approved_by,
                published_at=at,
                published_by=by,
            )
        )
        stored = self.document(env, kind, version)
        assert stored is not None
        return stored

    def documents(self, env: str, kind: str | None = None) -> list[DocumentRow]:
        stmt = sa.select(*_DOCUMENT_LISTING).where(_d.c.env == env)
        if kind is not None:
            stmt = stmt.where(_d.c.kind == kind)
        stmt = stmt.order_by(_d.c.kind, _d.c.version)
        return [_document_row(row, with_content=False) for row in self._all(stmt)]

    def document(self, env: str, kind: str, version: int | None = None) -> DocumentRow | None:
        stmt = sa.select(*_DOCUMENT_LISTING, _d.c.content).where(_d.c.env == env, _d.c.kind == kind)
        if version is None:
            stmt = stmt.order_by(_d.c.version.desc()).limit(1)
        else:
            stmt = stmt.where(_d.c.version == version)
        row = self._first(stmt)
        return None if row is None else _document_row(row, with_content=True)

    # -- sessions (R-REP-3) -----------------------------------------------------------------
    def add_session(
        self,
        token_hash: bytes,
        env: str,
        officer_id: int,
        party_id: int,
        at: dt.datetime,
        expires_at: dt.datetime,
    ) -> None:
        r = t.repository_sessions
        self._run(r.delete().where(r.c.expires_at < at))
        self._run(
            r.insert().values(
                token_hash=token_hash,
                env=env,
                officer_id=officer_id,
                party_id=party_id,
                created_at=at,
                expires_at=expires_at,
            )
        )

    def session(self, token_hash: bytes) -> SessionRow | None:
        r = t.repository_sessions
        row = self._first(sa.select(r).where(r.c.token_hash == token_hash))
        return None if row is None else _session_row(row)

    def end_session(self, token_hash: bytes, at: dt.datetime) -> bool:
        r = t.repository_sessions
        updated = self._run(
            r.update()
            .where(r.c.token_hash == token_hash, r.c.ended_at.is_(None))
            .values(ended_at=at)
        ).rowcount
        return bool(updated)

    def end_officer_sessions(self, officer_id: int, at: dt.datetime) -> int:
        r = t.repository_sessions
        updated = self._run(
            r.update()
            .where(r.c.officer_id == officer_id, r.c.ended_at.is_(None), r.c.expires_at > at)
            .values(ended_at=at)
        ).rowcount
        return int(updated)
