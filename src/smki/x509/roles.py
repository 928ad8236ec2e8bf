"""Remote Party Roles (R-PROF-24) and their two-hex-digit OU encoding (R-PROF-20)."""

from __future__ import annotations

import enum

from smki.errors import InputError


class RemotePartyRole(enum.IntEnum):
    ROOT = 0
    RECOVERY = 1
    SUPPLIER = 2
    NETWORK_OPERATOR = 3
    ACCESS_CONTROL_BROKER = 4
    TRANSITIONAL_COS = 5
    WAN_PROVIDER = 6
    ISSUING_AUTHORITY = 7
    LOAD_CONTROLLER = 8
    OTHER = 127
    XML_SIGN = 135
    DSP_XML_SIGN = 137

    @property
    def ou(self) -> str:
        """The organizationalUnitName value: two upper-case hex digits."""
        return f"{self.value:02X}"

    @property
    def gbcs_name(self) -> str:
        """The role's name as GBCS spells it (camelCase)."""
        head, *rest = self.name.lower().split("_")
        special = {
            "TRANSITIONAL_COS": "transitionalCoS",
            "XML_SIGN": "xmlSign",
            "DSP_XML_SIGN": "dspXmlSign",
        }
        return special.get(self.name, head + "".join(w.capitalize() for w in rest))

    @classmethod
    def from_ou(cls, text: str) -> RemotePartyRole:
        if len(text) != 2 or text.upper() != text or any(c not in "0123456789ABCDEF" for c in text):
            raise InputError(
                f"organizationalUnitName {text!r} is not two upper-case hex digits",
                code="bad-role-encoding",
                rid="R-PROF-20",
            )
        return cls.parse(text)

    @classmethod
    def parse(cls, text: str) -> RemotePartyRole:
        """Accept a hex code (``02``), a decimal with ``d`` prefix never, or a name."""
        cleaned = text.strip()
        try:
            return cls(int(cleaned, 16))
        except ValueError:
            pass
        for role in cls:
            if cleaned.lower() in (role.gbcs_name.lower(), role.name.lower()):
                return role
        raise InputError(
            f"unknown Remote Party Role {text!r}", code="unknown-role", rid="R-PROF-24"
        )
