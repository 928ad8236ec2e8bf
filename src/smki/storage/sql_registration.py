"""Registration records: parties, officers, notifications, token ids (R-PART-*, R-IKI-1).

An EUI-64 may be held by one party per environment (R-PART-1, R-PART-6: Test and Live share no
data). The database enforces it with UNIQUE (env, eui); the rows are written with ``INSERT …
ON CONFLICT DO NOTHING`` inside a savepoint, so a refused registration writes nothing, never
aborts the caller's transaction, and the Conflict can name the EUI that was already taken.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite

from smki.audit.chain import canonical_json
from smki.errors import Conflict, InputError, NotFound, StorageError
from smki.storage import schema as t
from smki.storage.api import NotificationRow, OfficerRow, PartyRow
from smki.storage.sql_base import SqlBase, chunks

_OFFICER_KINDS: Final = frozenset({"sro", "aro"})
_EUI_OCTETS: Final = 8
#: Expired token ids are purged at most this often per process (R-IKI-1 replay register).
_TOKEN_PURGE_SECONDS: Final = 60.0
_last_token_purge = float("-inf")


def _use_token_id(insert: Any) -> sa.Executable:
    stmt = insert(t.token_ids).values(
        jti=sa.bindparam("jti"), expires_at=sa.bindparam("expires_at")
    )
    upsert: sa.Executable = stmt.on_conflict_do_update(
        index_elements=[t.token_ids.c.jti],
        set_={"expires_at": stmt.excluded.expires_at},
        where=t.token_ids.c.expires_at < sa.bindparam("now"),
    ).returning(t.token_ids.c.jti)
    return upsert


# Statements of every authenticated request, built once (building one per call cost more
# than running it, R-PERF-1); parameters by name.
_USE_TOKEN_ID: Final = {False: _use_token_id(sqlite.insert), True: _use_token_id(pg.insert)}
_TOKEN_ID_USED: Final = sa.select(t.token_ids.c.jti).where(
    t.token_ids.c.jti == sa.bindparam("jti"), t.token_ids.c.expires_at >= sa.bindparam("now")
)
_PARTY: Final = sa.select(t.parties).where(t.parties.c.id == sa.bindparam("party_id"))
_PARTY_EUIS: Final = sa.select(t.party_entity_ids.c.eui).where(
    t.party_entity_ids.c.party_id == sa.bindparam("party_id")
)
_OFFICERS: Final = (
    sa.select(t.officers)
    .where(t.officers.c.party_id == sa.bindparam("party_id"))
    .order_by(t.officers.c.id)
)
_CURRENT_OFFICERS: Final = _OFFICERS.where(t.officers.c.removed_at.is_(None))
_OFFICER_BY_CERTIFICATE: Final = sa.select(t.officers).where(
    t.officers.c.certificate_id == sa.bindparam("certificate_id")
)


class RegistrationSql(SqlBase):
    """The registration part of ``Transaction``."""

    # -- parties (R-PART-1, R-PART-2, R-PART-6) ---------------------------------------------
    def add_party(
        self,
        env: str,
        name: str,
        categories: Sequence[str],
        entity_ids: Sequence[bytes],
        at: dt.datetime,
    ) -> int:
        """Conflict ``duplicate-entity-id`` if an EUI-64 is held by a party of ``env``."""
        categories_json = _categories_json(categories)
        euis = _entity_ids(entity_ids)
        with self.isolated():
            party_id = int(
                self._run(
                    t.parties.insert()
                    .values(env=env, name=name, categories=categories_json, created_at=at)
                    .returning(t.parties.c.id)
                ).scalar_one()
            )
            self._add_entity_ids(party_id, env, euis)
        return party_id

    def _one_or_none(self, stmt: sa.Executable, params: dict[str, Any]) -> Any:
        """The first row of a prebuilt statement run with ``params``."""
        return self._fast(stmt, params).first()

    def _rows(self, stmt: sa.Executable, params: dict[str, Any]) -> list[Any]:
        return self._fast(stmt, params).all()

    def party(self, party_id: int) -> PartyRow | None:
        row = self._one_or_none(_PARTY, {"party_id": party_id})
        if row is None:
            return None
        euis = [bytes(r.eui) for r in self._rows(_PARTY_EUIS, {"party_id": party_id})]
        return party_row(row, euis)

    def parties(self, env: str | None = None) -> list[PartyRow]:
        stmt = sa.select(t.parties).order_by(t.parties.c.id)
        if env is not None:
            stmt = stmt.where(t.parties.c.env == env)
        return self._party_rows(self._all(stmt))

    def party_by_entity_id(self, env: str, eui: bytes) -> PartyRow | None:
        e = t.party_entity_ids
        row = self._first(
            sa.select(t.parties)
            .join(e, e.c.party_id == t.parties.c.id)
            .where(e.c.env == env, e.c.eui == bytes(eui))
        )
        return None if row is None else self._party_rows([row])[0]

    def amend_party(
        self,
        party_id: int,
        *,
        name: str | None = None,
        categories: Sequence[str] | None = None,
        entity_ids: Sequence[bytes] | None = None,
    ) -> None:
        """Replace the given attributes; Conflict ``duplicate-entity-id`` as for add_party.

        ``entity_ids`` replaces the whole set. NotFound ``unknown-party`` for an unknown id.
        """
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = name
        if categories is not None:
            values["categories"] = _categories_json(categories)
        euis = None if entity_ids is None else _entity_ids(entity_ids)
        env = self._party_env(party_id)
        with self.isolated():
            if values:
                self._run(t.parties.update().where(t.parties.c.id == party_id).values(**values))
            if euis is not None:
                e = t.party_entity_ids
                self._run(e.delete().where(e.c.party_id == party_id))
                self._add_entity_ids(party_id, env, euis)

    def set_identity_verified(self, party_id: int, by: str, evidence: str, at: dt.datetime) -> None:
        """Record who verified the organisation's identity, when, and on what evidence."""
        updated = self._run(
            t.parties.update()
            .where(t.parties.c.id == party_id)
            .values(identity_verified_by=by, identity_verified_at=at, identity_evidence=evidence)
        ).rowcount
        if updated == 0:
            raise party_not_found(party_id)

    def set_srept_completed(self, party_id: int, by: str, at: dt.datetime) -> bool:
        """Conditional: False if SREPT completion was already recorded."""
        updated = self._run(
            t.parties.update()
            .where(t.parties.c.id == party_id, t.parties.c.srept_completed_at.is_(None))
            .values(srept_completed_at=at, srept_recorded_by=by)
        ).rowcount
        if updated == 0:
            self._party_env(party_id)  # NotFound if there is no such party
            return False
        return True

    def _party_env(self, party_id: int) -> str:
        row = self._first(sa.select(t.parties.c.env).where(t.parties.c.id == party_id))
        if row is None:
            raise party_not_found(party_id)
        return str(row.env)

    def _add_entity_ids(self, party_id: int, env: str, euis: list[bytes]) -> None:
        # Conflicts are skipped, not raised: the EUIs that come back are the ones written, so a
        # missing one was taken (possibly by a transaction that committed a moment ago).
        e = t.party_entity_ids
        for chunk in chunks(euis):
            stmt = (
                self._insert_ignoring(e, "env", "eui")
                .values([{"party_id": party_id, "env": env, "eui": eui} for eui in chunk])
                .returning(e.c.eui)
            )
            written = {bytes(eui) for eui in self._run(stmt).scalars()}
            for eui in chunk:
                if eui not in written:
                    raise duplicate_entity_id(env, eui)

    def _party_rows(self, rows: Sequence[sa.Row[Any]]) -> list[PartyRow]:
        e = t.party_entity_ids
        euis: dict[int, list[bytes]] = {int(row.id): [] for row in rows}
        for chunk in chunks(list(euis)):
            for r in self._all(sa.select(e.c.party_id, e.c.eui).where(e.c.party_id.in_(chunk))):
                euis[int(r.party_id)].append(bytes(r.eui))
        return [party_row(row, euis[int(row.id)]) for row in rows]

    # -- officers (R-PART-5, R-IKI-1) -------------------------------------------------------
    def add_officer(self, party_id: int, kind: str, name: str, by: str, at: dt.datetime) -> int:
        """InputError ``bad-officer-kind`` unless ``kind`` is "sro" or "aro"."""
        if kind not in _OFFICER_KINDS:
            raise InputError(
                "an officer is an SRO ('sro') or an ARO ('aro')",
                code="bad-officer-kind",
                rid="R-PART-5",
            )
        self._party_env(party_id)
        result = self._run(
            t.officers.insert()
            .values(party_id=party_id, kind=kind, name=name, appointed_at=at, appointed_by=by)
            .returning(t.officers.c.id)
        )
        return int(result.scalar_one())

    def officer(self, officer_id: int) -> OfficerRow | None:
        row = self._first(sa.select(t.officers).where(t.officers.c.id == officer_id))
        return None if row is None else officer_row(row)

    def officers(self, party_id: int, *, include_removed: bool = False) -> list[OfficerRow]:
        stmt = _OFFICERS if include_removed else _CURRENT_OFFICERS
        return [officer_row(r) for r in self._rows(stmt, {"party_id": party_id})]

    def remove_officer(self, officer_id: int, by: str, at: dt.datetime) -> bool:
        """Conditional: False if already removed; NotFound ``unknown-officer``."""
        updated = self._run(
            t.officers.update()
            .where(t.officers.c.id == officer_id, t.officers.c.removed_at.is_(None))
            .values(removed_at=at, removed_by=by)
        ).rowcount
        if updated == 0:
            if self.officer(officer_id) is None:
                raise officer_not_found(officer_id)
            return False
        return True

    def set_officer_certificate(self, officer_id: int, certificate_id: int) -> None:
        """Record the officer's IKI credential; Conflict ``certificate-in-use`` if it is
        already another officer's (one credential authenticates one officer, R-IKI-1)."""
        self._require_certificate(certificate_id)
        holder = self.officer_by_certificate(certificate_id)
        if holder is not None and holder.id != officer_id:
            raise certificate_in_use(certificate_id)
        try:
            updated = self._run(
                t.officers.update()
                .where(t.officers.c.id == officer_id)
                .values(certificate_id=certificate_id)
            ).rowcount
        except Conflict:
            raise certificate_in_use(certificate_id) from None
        if updated == 0:
            raise officer_not_found(officer_id)

    def officer_by_certificate(self, certificate_id: int) -> OfficerRow | None:
        row = self._one_or_none(_OFFICER_BY_CERTIFICATE, {"certificate_id": certificate_id})
        return None if row is None else officer_row(row)

    # -- notifications (R-PART-6) -----------------------------------------------------------
    def add_notification(
        self, recipient: str, kind: str, subject: str, details: dict[str, Any], at: dt.datetime
    ) -> int:
        try:
            details_json = canonical_json(details)
        except (TypeError, ValueError):
            raise StorageError(
                "notification details must be a JSON object of JSON values",
                code="bad-notification-details",
            ) from None
        result = self._run(
            t.notifications.insert()
            .values(at=at, recipient=recipient, kind=kind, subject=subject, details=details_json)
            .returning(t.notifications.c.id)
        )
        return int(result.scalar_one())

    def notifications(self, recipient: str | None = None) -> list[NotificationRow]:
        stmt = sa.select(t.notifications).order_by(t.notifications.c.id)
        if recipient is not None:
            stmt = stmt.where(t.notifications.c.recipient == recipient)
        return [notification_row(r) for r in self._all(stmt)]

    # -- token replay (R-IKI-1) -------------------------------------------------------------
    def use_token_id(self, jti: str, expires_at: dt.datetime, at: dt.datetime) -> bool:
        """Record a token id; False if it was seen before (a replay). Ids whose expiry is
        past are purged, since an expired token is refused on its own.

        StorageError ``unstorable-value`` for an id over 128 characters or holding NUL (the
        id comes from the caller's token, so it must not reach the database as an error).
        """
        if len(jti) > t.TOKEN_ID_MAX_LENGTH or "\x00" in jti:
            raise StorageError(
                f"a token id must be at most {t.TOKEN_ID_MAX_LENGTH} characters, without NUL",
                code="unstorable-value",
            )
        global _last_token_purge
        if time.monotonic() - _last_token_purge > _TOKEN_PURGE_SECONDS:
            # Only now and then (the table holds ids of tokens that live minutes): an expired
            # id still present is taken over below, so the purge only bounds the table.
            self._run(t.token_ids.delete().where(t.token_ids.c.expires_at < at))
            _last_token_purge = time.monotonic()
        # A new id, or one whose recorded expiry has passed; RETURNING, not rowcount: drivers
        # need not report a rowcount for INSERT.
        recorded = self._one_or_none(
            _USE_TOKEN_ID[self._conn.dialect.name == "postgresql"],
            {"jti": jti, "expires_at": expires_at, "now": at},
        )
        return recorded is not None

    def token_id_used(self, jti: str, at: dt.datetime) -> bool:
        if len(jti) > t.TOKEN_ID_MAX_LENGTH or "\x00" in jti:
            return False  # use_token_id refuses to store such an id: it was never recorded
        return self._one_or_none(_TOKEN_ID_USED, {"jti": jti, "now": at}) is not None


def _categories_json(categories: Sequence[str]) -> str:
    if isinstance(categories, str) or not all(isinstance(c, str) and c for c in categories):
        raise InputError(
            "party categories must be a list of category names", code="bad-category", rid="R-PART-1"
        )
    return json.dumps(sorted(set(categories)), separators=(",", ":"), ensure_ascii=False)


def _entity_ids(entity_ids: Sequence[bytes]) -> list[bytes]:
    """The distinct EUI-64s, sorted; InputError ``bad-entity-id`` for anything else."""
    if not all(
        isinstance(eui, bytes | bytearray) and len(eui) == _EUI_OCTETS for eui in entity_ids
    ):
        raise InputError(
            "an Entity Identifier is an EUI-64 of 8 octets", code="bad-entity-id", rid="R-PART-1"
        )
    return sorted({bytes(eui) for eui in entity_ids})


def duplicate_entity_id(env: str, eui: bytes) -> Conflict:
    return Conflict(
        f"Entity Identifier {eui.hex().upper()} is already held by a party in {env}",
        code="duplicate-entity-id",
        rid="R-PART-1",
    )


def certificate_in_use(certificate_id: int) -> Conflict:
    return Conflict(
        f"certificate {certificate_id} is already another officer's credential",
        code="certificate-in-use",
        rid="R-IKI-1",
    )


def party_not_found(party_id: int) -> NotFound:
    return NotFound(f"party {party_id} not found", code="unknown-party")


def officer_not_found(officer_id: int) -> NotFound:
    return NotFound(f"officer {officer_id} not found", code="unknown-officer")


def party_row(row: sa.Row[Any], euis: list[bytes]) -> PartyRow:
    return PartyRow(
        id=int(row.id),
        env=str(row.env),
        name=str(row.name),
        categories=tuple(sorted(str(c) for c in json.loads(row.categories))),
        entity_ids=tuple(sorted(euis)),
        identity_verified_by=row.identity_verified_by,
        identity_verified_at=row.identity_verified_at,
        identity_evidence=row.identity_evidence,
        srept_completed_at=row.srept_completed_at,
        srept_recorded_by=row.srept_recorded_by,
        created_at=row.created_at,
    )


def officer_row(row: sa.Row[Any]) -> OfficerRow:
    return OfficerRow(
        id=int(row.id),
        party_id=int(row.party_id),
        kind=str(row.kind),
        name=str(row.name),
        appointed_at=row.appointed_at,
        appointed_by=str(row.appointed_by),
        removed_at=row.removed_at,
        removed_by=row.removed_by,
        certificate_id=None if row.certificate_id is None else int(row.certificate_id),
    )


def notification_row(row: sa.Row[Any]) -> NotificationRow:
    parsed = json.loads(row.details)
    return NotificationRow(
        id=int(row.id),
        at=row.at,
        recipient=str(row.recipient),
        kind=str(row.kind),
        subject=str(row.subject),
        details=parsed if isinstance(parsed, dict) else {},
    )
