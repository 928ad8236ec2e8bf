"""Issuance records (R-CA-4, R-PROF-3): intents, certificates, per-issuer serial uniqueness."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa

from smki.errors import Conflict, NotFound, StorageError
from smki.storage import schema as t
from smki.storage.api import CertificateRow, IntentRow, NewCertificate
from smki.storage.engine import translated_errors
from smki.storage.sql_base import (
    SqlBase,
    authority_not_found,
    certificate_not_found,
    certificate_row,
    chunks,
    duplicate_serial,
    intent_row,
)

_INTENT_STATES: Final = frozenset({"done", "abandoned"})


class IssuanceSql(SqlBase):
    """The issuance part of ``Transaction``."""

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
            return self._insert_many_by_serial(t.issuance_intents, rows)
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
            ids = self._insert_many_by_serial(t.certificates, values)
        except Conflict:
            raise duplicate_serial() from None
        self.finish_intents(intent_ids, "done", at)
        return ids

    def certificate(self, certificate_id: int) -> CertificateRow:
        row = self._first(sa.select(t.certificates).where(t.certificates.c.id == certificate_id))
        if row is None:
            raise certificate_not_found(certificate_id)
        return certificate_row(row)

    def certificate_by_serial(self, env: str, serial: int) -> list[CertificateRow]:
        """All certificates in ``env`` with that serial (unique per issuer, not globally)."""
        try:
            t.encode_serial(serial)
        except t.UnstorableValueError:
            return []  # no stored certificate can have it
        stmt = (
            sa.select(t.certificates)
            .where(t.certificates.c.env == env, t.certificates.c.serial == serial)
            .order_by(t.certificates.c.id)
        )
        return [certificate_row(r) for r in self._all(stmt)]

    def certificate_for_intent(self, intent_id: int) -> CertificateRow | None:
        row = self._first(sa.select(t.certificates).where(t.certificates.c.intent_id == intent_id))
        return None if row is None else certificate_row(row)

    def count_certificates(self, env: str | None = None) -> int:
        stmt = sa.select(sa.func.count()).select_from(t.certificates)
        if env is not None:
            stmt = stmt.where(t.certificates.c.env == env)
        return int(self._scalar(stmt))

    def _authority_envs(self, authority_ids: set[int]) -> dict[int, str]:
        envs: dict[int, str] = {}
        for chunk in chunks(sorted(authority_ids)):
            for row in self._all(
                sa.select(t.authorities.c.id, t.authorities.c.env).where(
                    t.authorities.c.id.in_(chunk)
                )
            ):
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
            for row in self._all(
                sa.select(
                    t.issuance_intents.c.id,
                    t.issuance_intents.c.authority_id,
                    t.issuance_intents.c.serial,
                    t.issuance_intents.c.state,
                )
                .where(t.issuance_intents.c.id.in_(chunk))
                # Locked until commit, so a concurrent recovery cannot abandon an intent
                # between this check and the certificate's insert (SQLite: BEGIN IMMEDIATE).
                .with_for_update()
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
