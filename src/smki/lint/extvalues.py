"""Decoders for the extension values the GBCS lints judge, straight from DER (R-PROF-2).

Each returns a small plain value; a malformed value raises MalformedInput, which the lint
turns into a finding.
"""

from __future__ import annotations

from dataclasses import dataclass

from smki.errors import MalformedInput
from smki.lint.raw import children, read_one
from smki.x509 import der

KEY_USAGE = "2.5.29.15"
BASIC_CONSTRAINTS = "2.5.29.19"
SUBJECT_KEY_IDENTIFIER = "2.5.29.14"
SUBJECT_ALT_NAME = "2.5.29.17"
CERTIFICATE_POLICIES = "2.5.29.32"
AUTHORITY_KEY_IDENTIFIER = "2.5.29.35"
CRL_DISTRIBUTION_POINTS = "2.5.29.31"
AUTHORITY_INFO_ACCESS = "1.3.6.1.5.5.7.1.1"
EXTENDED_KEY_USAGE = "2.5.29.37"
CRL_NUMBER = "2.5.29.20"

#: Short names used in messages.
EXTENSION_NAMES = {
    KEY_USAGE: "keyUsage",
    BASIC_CONSTRAINTS: "basicConstraints",
    SUBJECT_KEY_IDENTIFIER: "subjectKeyIdentifier",
    SUBJECT_ALT_NAME: "subjectAltName",
    CERTIFICATE_POLICIES: "certificatePolicies",
    AUTHORITY_KEY_IDENTIFIER: "authorityKeyIdentifier",
    CRL_DISTRIBUTION_POINTS: "cRLDistributionPoints",
    AUTHORITY_INFO_ACCESS: "authorityInfoAccess",
    EXTENDED_KEY_USAGE: "extendedKeyUsage",
    CRL_NUMBER: "cRLNumber",
}

#: KeyUsage bit positions, RFC 5280 §4.2.1.3.
KEY_USAGE_BITS = (
    "digitalSignature",
    "nonRepudiation",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
    "encipherOnly",
    "decipherOnly",
)


def extension_name(oid: str) -> str:
    return EXTENSION_NAMES.get(oid, oid)


def key_usage(value: bytes) -> frozenset[str]:
    """The names of the bits set in a KeyUsage BIT STRING."""
    bits = read_one(value, "keyUsage")
    if bits.tag != der.BIT_STRING or not bits.value or bits.value[0] > 7:
        raise MalformedInput("keyUsage is not a DER BIT STRING")
    body = bits.value[1:]
    names: set[str] = set()
    for index in range(len(body) * 8):
        if body[index // 8] & (0x80 >> (index % 8)):
            names.add(KEY_USAGE_BITS[index] if index < len(KEY_USAGE_BITS) else f"bit{index}")
    return frozenset(names)


@dataclass(frozen=True)
class BasicConstraintsValue:
    ca: bool
    path_length: int | None


def basic_constraints(value: bytes) -> BasicConstraintsValue:
    seq = read_one(value, "basicConstraints")
    if seq.tag != der.SEQUENCE:
        raise MalformedInput("basicConstraints is not a SEQUENCE")
    ca = False
    path_length: int | None = None
    for part in children(seq.value):
        if part.tag == der.BOOLEAN:
            ca = part.value != b"\x00"
        elif part.tag == der.INTEGER:
            path_length = int.from_bytes(part.value, "big", signed=True)
        else:
            raise MalformedInput("basicConstraints holds something other than cA and pathLen")
    return BasicConstraintsValue(ca, path_length)


@dataclass(frozen=True)
class PolicyValue:
    oid: str
    has_qualifiers: bool


def certificate_policies(value: bytes) -> tuple[PolicyValue, ...]:
    seq = read_one(value, "certificatePolicies")
    if seq.tag != der.SEQUENCE:
        raise MalformedInput("certificatePolicies is not a SEQUENCE")
    out: list[PolicyValue] = []
    for info in children(seq.value):
        parts = children(info.value)
        if info.tag != der.SEQUENCE or not parts or parts[0].tag != der.OID:
            raise MalformedInput("a PolicyInformation is not SEQUENCE { OID, ... }")
        out.append(PolicyValue(der.decode_oid(parts[0].value), len(parts) > 1))
    return tuple(out)


def subject_key_identifier(value: bytes) -> bytes:
    octets = read_one(value, "subjectKeyIdentifier")
    if octets.tag != der.OCTET_STRING:
        raise MalformedInput("subjectKeyIdentifier is not an OCTET STRING")
    return octets.value


@dataclass(frozen=True)
class AuthorityKeyIdValue:
    key_identifier: bytes | None
    has_issuer: bool
    has_serial: bool


def authority_key_identifier(value: bytes) -> AuthorityKeyIdValue:
    seq = read_one(value, "authorityKeyIdentifier")
    if seq.tag != der.SEQUENCE:
        raise MalformedInput("authorityKeyIdentifier is not a SEQUENCE")
    key_id: bytes | None = None
    has_issuer = has_serial = False
    for part in children(seq.value):
        if part.tag == 0x80:
            key_id = part.value
        elif part.tag == 0xA1:
            has_issuer = True
        elif part.tag == 0x82:
            has_serial = True
        else:
            raise MalformedInput(f"authorityKeyIdentifier holds unknown tag 0x{part.tag:02X}")
    return AuthorityKeyIdValue(key_id, has_issuer, has_serial)
