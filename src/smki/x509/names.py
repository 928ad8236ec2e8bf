"""Subject and issuer names in the GBCS encodings (R-PROF-20, R-PROF-30…34)."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from smki.errors import InputError
from smki.ids import EntityId
from smki.x509.eui import eui64_from_bytes
from smki.x509.roles import RemotePartyRole

EMPTY_NAME = x509.Name([])


def _rdn(
    oid: x509.ObjectIdentifier, value: str | bytes, kind: _ASN1Type
) -> x509.RelativeDistinguishedName:
    return x509.RelativeDistinguishedName([x509.NameAttribute(oid, value, kind)])


def organisation_subject(
    role: RemotePartyRole, eui: EntityId, common_name: str | None = None
) -> x509.Name:
    """Optional CN (UTF8String), OU = role as two hex digits (UTF8String), uniqueIdentifier
    = BIT STRING of the 8-octet EUI-64, each in its own RDN, in that order."""
    rdns = []
    if common_name:
        rdns.append(_rdn(NameOID.COMMON_NAME, common_name, _ASN1Type.UTF8String))
    rdns.append(_rdn(NameOID.ORGANIZATIONAL_UNIT_NAME, role.ou, _ASN1Type.UTF8String))
    rdns.append(
        _rdn(NameOID.X500_UNIQUE_IDENTIFIER, b"\x00" + eui64_from_bytes(eui), _ASN1Type.BitString)
    )
    return x509.Name(rdns)


def ca_subject(role: RemotePartyRole, common_name: str) -> x509.Name:
    """SMKI CA names: OU (PrintableString) then CN (PrintableString), as on Z1 (R-PROF-30)."""
    return x509.Name(
        [
            _rdn(NameOID.ORGANIZATIONAL_UNIT_NAME, role.ou, _ASN1Type.PrintableString),
            _rdn(NameOID.COMMON_NAME, common_name, _ASN1Type.PrintableString),
        ]
    )


def common_name_subject(common_name: str) -> x509.Name:
    """A single CN RDN, PrintableString, as on the Issuing DCA "E357" (OBSERVED.md §E)."""
    return x509.Name([_rdn(NameOID.COMMON_NAME, common_name, _ASN1Type.PrintableString)])


def holder_subject(common_name: str, organisation: str) -> x509.Name:
    """IKI and DCCKI names: O then CN, UTF8String (R-PROF-33, R-PROF-34)."""
    return x509.Name(
        [
            _rdn(NameOID.ORGANIZATION_NAME, organisation, _ASN1Type.UTF8String),
            _rdn(NameOID.COMMON_NAME, common_name, _ASN1Type.UTF8String),
        ]
    )


@dataclass(frozen=True)
class OrganisationIdentity:
    """What an Organisation Certificate subject says: role, EUI-64 and optional CN."""

    role: RemotePartyRole | None
    eui: EntityId | None
    common_name: str | None


def read_organisation_subject(name: x509.Name) -> OrganisationIdentity:
    """Read role / EUI-64 / CN from a subject; raises InputError on a malformed value."""
    role: RemotePartyRole | None = None
    eui: EntityId | None = None
    common_name: str | None = None
    for attribute in name:
        if attribute.oid == NameOID.ORGANIZATIONAL_UNIT_NAME:
            role = RemotePartyRole.from_ou(str(attribute.value))
        elif attribute.oid == NameOID.X500_UNIQUE_IDENTIFIER:
            raw = attribute.value
            if not isinstance(raw, bytes) or len(raw) != 9 or raw[0] != 0:
                raise InputError(
                    "uniqueIdentifier is not a BIT STRING of 8 octets",
                    code="bad-unique-identifier",
                    rid="R-PROF-20",
                )
            eui = eui64_from_bytes(raw[1:])
        elif attribute.oid == NameOID.COMMON_NAME:
            common_name = str(attribute.value)
        else:
            raise InputError(
                f"unexpected subject attribute {attribute.oid.dotted_string}",
                code="bad-subject",
                rid="R-PROF-20",
            )
    return OrganisationIdentity(role=role, eui=eui, common_name=common_name)
