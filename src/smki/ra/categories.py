"""Party categories (R-PART-1)."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from smki.errors import InputError


class PartyCategory(enum.StrEnum):
    IMPORT_SUPPLIER = "import-supplier"
    EXPORT_SUPPLIER = "export-supplier"
    GAS_SUPPLIER = "gas-supplier"
    ELECTRICITY_DISTRIBUTOR = "electricity-distributor"
    GAS_TRANSPORTER = "gas-transporter"
    OTHER_SEC_PARTY = "other-sec-party"
    REGISTERED_SUPPLIER_AGENT = "registered-supplier-agent"
    RDP = "rdp"
    DCC = "dcc"
    # Not SEC Parties: governance bodies that read the repository (R-REP-3) with IKI
    # credentials like any ARO, but never hold SMKI certificates [smki decision].
    SEC_PANEL = "sec-panel"
    SMKI_PMA = "smki-pma"

    @classmethod
    def parse(cls, text: str) -> PartyCategory:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise InputError(
                f"unknown party category {text!r}; use one of {', '.join(c.value for c in cls)}",
                code="bad-category",
                rid="R-PART-1",
            ) from None


#: Categories of governance bodies rather than SEC Parties or RDPs (R-PART-1, R-REP-3).
GOVERNANCE_BODIES = frozenset({PartyCategory.SEC_PANEL, PartyCategory.SMKI_PMA})
#: Categories of SEC Parties and RDPs: the ones that may be subscribers (R-PART-2).
SUBSCRIBER_CATEGORIES = frozenset(PartyCategory) - GOVERNANCE_BODIES


def is_subscriber_party(categories: Iterable[str]) -> bool:
    """A SEC Party or RDP: at least one category that is not a governance body's."""
    return any(PartyCategory(c) in SUBSCRIBER_CATEGORIES for c in categories)
