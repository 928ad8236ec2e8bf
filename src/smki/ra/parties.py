"""Registering parties: creation, amendment, identity verification, SREPT (R-PART-1, R-PART-6).

Each use case is one transaction with its audit event.
"""

from __future__ import annotations

from collections.abc import Sequence

from smki.clock import Clock
from smki.errors import Conflict, InputError
from smki.profiles.kinds import Environment
from smki.ra.categories import PartyCategory
from smki.ra.status import load_party
from smki.storage.api import PartyRow, Store
from smki.x509.eui import format_eui64

SEC_PANEL = "sec-panel"


def _clean_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 200:
        raise InputError("a party name is 1 to 200 characters", code="bad-name", rid="R-PART-1")
    return cleaned


def _categories(categories: Sequence[PartyCategory]) -> list[str]:
    if not categories:
        raise InputError("a party needs at least one category", code="bad-category", rid="R-PART-1")
    return sorted({c.value for c in categories})


def _entity_ids(euis: Sequence[bytes]) -> list[bytes]:
    unique = sorted({bytes(e) for e in euis})
    if len(unique) != len(euis):
        raise InputError(
            "an Entity Identifier is listed twice", code="duplicate-entity-id", rid="R-PART-1"
        )
    return unique


class Registration:
    def __init__(self, store: Store, clock: Clock, actor: str) -> None:
        self._store = store
        self._clock = clock
        self._actor = actor

    def create_party(
        self,
        env: Environment,
        name: str,
        categories: Sequence[PartyCategory],
        euis: Sequence[bytes],
    ) -> PartyRow:
        clean = _clean_name(name)
        names = _categories(categories)
        entity_ids = _entity_ids(euis)
        with self._store.transaction() as tx:
            party_id = tx.add_party(env, clean, names, entity_ids, self._clock.now())
            tx.audit(
                self._actor,
                "party.created",
                f"party:{party_id}",
                {
                    "env": str(env),
                    "name": clean,
                    "categories": names,
                    "entity_ids": [format_eui64(e) for e in entity_ids],
                },
            )
            return load_party(tx, party_id)

    def amend_party(
        self,
        party_id: int,
        *,
        name: str | None = None,
        categories: Sequence[PartyCategory] | None = None,
        euis: Sequence[bytes] | None = None,
    ) -> PartyRow:
        clean = _clean_name(name) if name is not None else None
        names = _categories(categories) if categories is not None else None
        entity_ids = _entity_ids(euis) if euis is not None else None
        changes: dict[str, object] = {
            key: value
            for key, value in (
                ("name", clean),
                ("categories", names),
                ("entity_ids", [format_eui64(e) for e in entity_ids] if entity_ids else None),
            )
            if value is not None
        }
        if not changes:
            raise InputError("nothing to amend", code="bad-option")
        with self._store.transaction() as tx:
            load_party(tx, party_id)
            tx.amend_party(party_id, name=clean, categories=names, entity_ids=entity_ids)
            tx.audit(self._actor, "party.amended", f"party:{party_id}", changes)
            return load_party(tx, party_id)

    def verify_identity(self, party_id: int, by: str, evidence: str) -> PartyRow:
        """Record who verified the organisation's identity, when, and the evidence (R-PART-2)."""
        if not by.strip() or not evidence.strip():
            raise InputError(
                "say who verified the identity and the evidence reference",
                code="bad-option",
                rid="R-PART-2",
            )
        with self._store.transaction() as tx:
            load_party(tx, party_id)
            tx.set_identity_verified(party_id, by.strip(), evidence.strip(), self._clock.now())
            tx.audit(
                self._actor,
                "party.identity-verified",
                f"party:{party_id}",
                {"by": by.strip(), "evidence": evidence.strip()},
            )
            return load_party(tx, party_id)

    def record_srept(self, party_id: int) -> PartyRow:
        """The DCC records SREPT completion and notifies the SEC Panel (R-PART-6)."""
        with self._store.transaction() as tx:
            party = load_party(tx, party_id)
            now = self._clock.now()
            if not tx.set_srept_completed(party_id, self._actor, now):
                raise Conflict(
                    f"SREPT completion of party {party_id} is already recorded",
                    code="srept-already-recorded",
                    rid="R-PART-6",
                )
            notification = tx.add_notification(
                SEC_PANEL,
                "srept-completed",
                f"party:{party_id}",
                {"party": party.name, "env": party.env, "at": now.isoformat()},
                now,
            )
            tx.audit(
                self._actor,
                "party.srept-completed",
                f"party:{party_id}",
                {"notification": notification, "recipient": SEC_PANEL},
            )
            return load_party(tx, party_id)
