"""Authorised Subscriber status, derived from recorded facts, never stored (R-PART-2).

A party is an Authorised Subscriber when its organisation identity was verified, it has at
least one SRO and one ARO, and — in the Live environment — the DCC recorded its completion of
the SMKI and Repository Entry Process Tests (SREPT). In the Test environment (the SMKI Test
Service, where SREPT is run) SREPT is not a precondition [smki decision, R-PART-6]. The same
facts stand for each Certificate Policy (Device, Organisation, IKI, DCCKI).
"""

from __future__ import annotations

from dataclasses import dataclass

from smki.errors import Forbidden, NotFound
from smki.profiles.kinds import Environment
from smki.storage.api import PartyRow, Transaction

CERTIFICATE_POLICIES = ("device", "organisation", "iki", "dccki")


@dataclass(frozen=True)
class SubscriberStatus:
    env: Environment
    identity_verified: bool
    sros: int
    aros: int
    srept_completed: bool

    @property
    def missing(self) -> list[str]:
        missing = []
        if not self.identity_verified:
            missing.append("organisation identity not verified")
        if self.sros < 1:
            missing.append("no Senior Responsible Officer")
        if self.aros < 1:
            missing.append("no Authorised Responsible Officer")
        if self.env is Environment.LIVE and not self.srept_completed:
            missing.append("SREPT not completed")
        return missing

    @property
    def authorised(self) -> bool:
        return not self.missing


def subscriber_status(tx: Transaction, party: PartyRow) -> SubscriberStatus:
    officers = tx.officers(party.id)
    return SubscriberStatus(
        env=Environment(party.env),
        identity_verified=party.identity_verified_at is not None,
        sros=sum(o.kind == "sro" for o in officers),
        aros=sum(o.kind == "aro" for o in officers),
        srept_completed=party.srept_completed_at is not None,
    )


def load_party(tx: Transaction, party_id: int) -> PartyRow:
    party = tx.party(party_id)
    if party is None:
        raise NotFound(f"no party {party_id}", code="unknown-party", rid="R-PART-1")
    return party


def require_authorised(tx: Transaction, party: PartyRow) -> SubscriberStatus:
    """Refuse a party that is not (or no longer) an Authorised Subscriber."""
    status = subscriber_status(tx, party)
    if status.env is Environment.LIVE and not status.srept_completed:
        raise Forbidden(
            f"party {party.id} has not completed SREPT: no Live certificates or Live "
            "repository access until the DCC records it (the Test environment serves it)",
            code="srept-not-completed",
            rid="R-PART-6",
        )
    if not status.authorised:
        raise Forbidden(
            f"party {party.id} is not an Authorised Subscriber: " + "; ".join(status.missing),
            code="not-authorised-subscriber",
            rid="R-PART-2",
        )
    return status
