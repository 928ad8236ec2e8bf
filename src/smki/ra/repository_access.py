"""Who may read the SMKI Repository, and what (R-REP-3, R-DOC-2, R-PART-6): RA policy, beside
subscriber status and eligibility.

Readers are SEC Parties and RDPs (in the Live environment only once the DCC recorded their
SREPT completion; the Test repository is where SREPT is run, so there it is not a
precondition [smki decision, as for subscription]), the SEC Panel and the SMKI PMA. Each
signs in with an IKI credential of one of its AROs. The Device, Organisation and IKI
Certification Practice Statements are confidential: only the SMKI PMA and the DCC read them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from smki.errors import Forbidden
from smki.profiles.kinds import Environment
from smki.ra.categories import PartyCategory
from smki.storage.api import OfficerRow, PartyRow


class ReaderKind(enum.StrEnum):
    SEC_PARTY = "sec-party"  # SEC Parties and RDPs
    SEC_PANEL = "sec-panel"
    SMKI_PMA = "smki-pma"
    DCC = "dcc"


@dataclass(frozen=True)
class Reader:
    """An authenticated repository reader: one ARO of one party or body."""

    kind: ReaderKind
    env: Environment
    party_id: int
    party_name: str
    officer_id: int

    @property
    def reads_confidential(self) -> bool:
        """The CPSs are for the SMKI PMA and the DCC only (R-DOC-2)."""
        return self.kind in (ReaderKind.SMKI_PMA, ReaderKind.DCC)


def reader_kind(categories: tuple[str, ...] | list[str]) -> ReaderKind:
    """The most privileged kind the categories give; PMA before DCC before Panel."""
    held = {PartyCategory(c) for c in categories}
    if PartyCategory.SMKI_PMA in held:
        return ReaderKind.SMKI_PMA
    if PartyCategory.DCC in held:
        return ReaderKind.DCC
    if PartyCategory.SEC_PANEL in held:
        return ReaderKind.SEC_PANEL
    return ReaderKind.SEC_PARTY


def admit_reader(env: Environment, party: PartyRow, officer: OfficerRow) -> Reader:
    """The reader this ARO is, or Forbidden with the rule that refuses it (R-REP-3)."""
    if officer.removed_at is not None or officer.kind != "aro":
        raise Forbidden(
            f"officer {officer.id} is not an appointed ARO", code="aro-removed", rid="R-PART-5"
        )
    if party.identity_verified_at is None:
        raise Forbidden(
            f"party {party.id}'s organisation identity is not verified",
            code="identity-not-verified",
            rid="R-PART-2",
        )
    kind = reader_kind(party.categories)
    if (
        kind is ReaderKind.SEC_PARTY
        and env is Environment.LIVE
        and party.srept_completed_at is None
    ):
        raise Forbidden(
            f"party {party.id} has not completed SREPT: the Live repository is closed to it",
            code="srept-not-completed",
            rid="R-REP-3",
        )
    return Reader(kind, env, party.id, party.name, officer.id)


def require_confidential_access(reader: Reader, what: str) -> None:
    if not reader.reads_confidential:
        raise Forbidden(
            f"{what} is confidential: only the SMKI PMA and the DCC may read it",
            code="confidential-document",
            rid="R-DOC-2",
        )
