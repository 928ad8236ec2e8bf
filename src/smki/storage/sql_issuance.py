"""Issuance records (R-CA-4, R-PROF-3): intents, certificates, per-issuer serial uniqueness."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

import sqlalchemy as sa

from smki.errors import Conflict, NotFound, StorageError
from smki.storage import schema as t
from smki.storage.api import CertificateRow, IntentRow, NewCertificate
from smki.storage.engine import translated_errors
from smki.storage.raw_statements import RawResult
from smki.storage.sql_base import (
    SqlBase,
    authority_not_found,
    certificate_not_found,
    certificate_row,
    chunks,
    duplicate_serial,
    intent_row,
)
from smki.storage.sql_bulk import execute_many

_S = TypeVar("_S", bound=sa.Executable)

_INTENT_STATES: Final = frozenset({"done", "abandoned"})
#: Below this, SQLAlchemy's own executemany costs no more than compiling for ``execute_many``.
_BULK_MIN_ROWS: Final = 16


# The statements of every issuance, built once (building one per call cost more than running
# it, R-PERF-1); parameters by name, lists as expanding parameters.
_i, _c = t.issuance_intents, t.certificates
_Key = Callable[[sa.ColumnElement[Any]], sa.ColumnElement[bool]]
#: A statement over a list of keys → the same statement for one key, and the list's name: a
#: single certificate's statements then run as prebuilt statements (``SqlBase._fast``).
_FOR_ONE: dict[int, tuple[sa.Executable, str]] = {}


def _keyed(build: Callable[[_Key], _S], name: str) -> _S:
    """``build`` over ``name`` as a list of keys (``IN``), remembering its one-key form."""
    many = build(lambda column: column.in_(sa.bindparam(name, expanding=True)))
    _FOR_ONE[id(many)] = (build(lambda column: column == sa.bindparam(name)), name)
    return many


_SERIAL_USED: Final = _keyed(
    lambda key: sa.union_all(
        sa.select(_i.c.serial).where(
            _i.c.authority_id == sa.bindparam("authority_id"), key(_i.c.serial)
        ),
        sa.select(_c.c.serial).where(
            _c.c.authority_id == sa.bindparam("authority_id"), key(_c.c.serial)
        ),
    ).limit(1),
    "serials",
)
_FINISH_INTENTS: Final = _keyed(
    lambda key: (
        _i.update()
        .where(key(_i.c.id), _i.c.state == "pending")
        .values(state=sa.bindparam("new_state"), finished_at=sa.bindparam("at"))
    ),
    "ids",
)
_CERTIFICATE: Final = sa.select(_c).where(_c.c.id == sa.bindparam("id"))
_BY_SERIAL: Final = (
    sa.select(_c)
    .where(_c.c.env == sa.bindparam("env"), _c.c.serial == sa.bindparam("serial"))
    .order_by(_c.c.id)
)
_INSERT_RETURNING_ID: Final = {
    table.name: table.insert().returning(table.c.id) for table in (_i, _c)
}
_AUTHORITY_ENVS: Final = _keyed(
    lambda key: sa.select(t.authorities.c.id, t.authorities.c.env).where(key(t.authorities.c.id)),
    "ids",
)
# Locked until commit, so a concurrent recovery cannot abandon an intent between the check
# and the certificate's insert (SQLite: BEGIN IMMEDIATE).
_LOCK_INTENTS: Final = _keyed(
    lambda key: (
        sa.select(_i.c.id, _i.c.authority_id, _i.c.serial, _i.c.state)
        .where(key(_i.c.id))
        .with_for_update()
    ),
    "ids",
)


class IssuanceSql(SqlBase):
    """The issuance part of ``Transaction``."""

    def _with(
        self, stmt: sa.Executable, params: dict[str, Any]
    ) -> sa.CursorResult[Any] | RawResult:
        """A prebuilt statement run with ``params`` (errors translated as for any statement);
        over a list of one key, its one-key form on the driver's cursor."""
        one = _FOR_ONE.get(id(stmt))
        if one is not None and len(params[one[1]]) == 1:
            return self._fast(one[0], {**params, one[1]: params[one[1]][0]})
        with translated_errors():
            return self._conn.execute(stmt, params)

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
            raise Conflict(
                "a serial appears twice in the batch", code="duplicate-serial", rid="R-PROF-3"
            )
        for chunk in chunks(serials):
            used = self._with(
                _SERIAL_USED, {"authority_id": authority_id, "serials": chunk}
            ).first()
            if used is not None:
                raise duplicate_serial()
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
            return self._bulk_insert_by_serial(t.issuance_intents, rows)
        except Conflict:
            # A concurrent reservation of the same serial won the race.
            raise duplicate_serial() from None

    def pending_intents(self) -> list[IntentRow]:
        stmt = (
            sa.select(t.issuance_intents)
            .where(t.issuance_intents.c.state == "pending")
            .order_by(t.issuance_intents.c.id)
        )
        return [intent_row(r) for r in self._all(stmt)]

    def finish_intents(self, intent_ids: Sequence[int], state: str, at: dt.datetime) -> None:
        """Mark intents "done" or "abandoned" (only those still pending)."""
        if state not in _INTENT_STATES:
            raise StorageError(f"unknown intent state {state!r}", code="bad-intent-state")
        for chunk in chunks(intent_ids):
            self._with(_FINISH_INTENTS, {"ids": chunk, "new_state": state, "at": at})

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
            ids = self._bulk_insert_by_serial(t.certificates, values)
        except Conflict:
            raise duplicate_serial() from None
        self.finish_intents(intent_ids, "done", at)
        return ids

    def certificate(self, certificate_id: int) -> CertificateRow:
        row = self._fast(_CERTIFICATE, {"id": certificate_id}).first()
        if row is None:
            raise certificate_not_found(certificate_id)
        return certificate_row(row)

    def certificate_by_serial(self, env: str, serial: int) -> list[CertificateRow]:
        """All certificates in ``env`` with that serial (unique per issuer, not globally)."""
        try:
            t.encode_serial(serial)
        except t.UnstorableValueError:
            return []  # no stored certificate can have it
        rows = self._fast(_BY_SERIAL, {"env": env, "serial": serial}).all()
        return [certificate_row(r) for r in rows]

    def certificate_for_intent(self, intent_id: int) -> CertificateRow | None:
        row = self._first(sa.select(t.certificates).where(t.certificates.c.intent_id == intent_id))
        return None if row is None else certificate_row(row)

    def count_certificates(self, env: str | None = None) -> int:
        stmt = sa.select(sa.func.count()).select_from(t.certificates)
        if env is not None:
            stmt = stmt.where(t.certificates.c.env == env)
        return int(self._scalar(stmt))

    def _bulk_insert_by_serial(self, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
        """``_insert_many_by_serial``; on SQLite through ``execute_many`` (a batch chunk's
        rows share their times, whose processing is then done once, R-SI-2)."""
        if self._conn.dialect.name != "sqlite":
            return self._insert_many_by_serial(table, rows)
        if len(rows) == 1:  # a single certificate: its id in the same statement
            (inserted,) = self._fast(_INSERT_RETURNING_ID[table.name], rows[0]).all()
            return [int(inserted.id)]
        if len(rows) < _BULK_MIN_ROWS:
            return self._insert_many_by_serial(table, rows)
        # Inside BEGIN IMMEDIATE nobody else inserts: the new rows are those past the
        # previous largest id, in input order (checked against the serials, else looked up).
        before = int(self._scalar(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))))
        execute_many(self._conn, table.insert(), rows)
        new = self._all(
            sa.select(table.c.id, table.c.authority_id, sa.type_coerce(table.c.serial, sa.Text))
            .where(table.c.id > before)
            .order_by(table.c.id)
        )
        stored = [(int(r[0]), int(r[1]), str(r[2])) for r in map(tuple, new)]
        if [(authority, serial) for _, authority, serial in stored] == [
            (r["authority_id"], t.encode_serial(r["serial"])) for r in rows
        ]:
            return [new_id for new_id, _, _ in stored]
        return self._ids_by_serial(table, rows)  # pragma: no cover - not seen on SQLite

    def _authority_envs(self, authority_ids: set[int]) -> dict[int, str]:
        envs: dict[int, str] = {}
        for chunk in chunks(sorted(authority_ids)):
            for row in self._with(_AUTHORITY_ENVS, {"ids": chunk}).all():
                envs[int(row.id)] = str(row.env)
        for authority_id in authority_ids:
            if authority_id not in envs:
                raise authority_not_found(authority_id)
        return envs

    def _check_intents(self, rows: Sequence[NewCertificate], intent_ids: list[int]) -> None:
        if len(set(intent_ids)) != len(intent_ids):
            raise Conflict("an intent appears twice in the batch", code="intent-mismatch")
        found: dict[int, sa.Row[Any]] = {}
        for chunk in chunks(intent_ids):
            for row in self._with(_LOCK_INTENTS, {"ids": chunk}).all():
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
