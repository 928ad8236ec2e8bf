"""Revocation, CRLs and ARLs (R-SI-4, R-REP-5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from smki.errors import Conflict
from smki.storage import schema as t
from smki.storage.api import CrlRow, RevokedEntry
from smki.storage.sql_base import SqlBase, crl_row


class RevocationSql(SqlBase):
    """The revocation part of ``Transaction``."""

    # -- revocation (R-SI-4, R-REP-5) -------------------------------------------------------
    def revoke(self, certificate_id: int, reason: str, at: dt.datetime) -> bool:
        """Conditional: False if already revoked; NotFound if there is no such certificate."""
        updated = self._run(
            t.certificates.update()
            .where(t.certificates.c.id == certificate_id, t.certificates.c.status != "revoked")
            .values(status="revoked")
        ).rowcount
        if updated == 0:
            self._require_certificate(certificate_id)
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
        current = self._scalar(stmt)
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
        return None if row is None else crl_row(row)
