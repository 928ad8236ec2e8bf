"""Party categories (R-PART-1)."""

from __future__ import annotations

import enum

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
