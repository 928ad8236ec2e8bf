"""A raw DER view of certificates and CRLs, for the lints that judge encodings (R-PROF-40).

``cryptography`` normalises what it parses (string types, time types, extension order) and
refuses some real GBCS test certificates outright (OBSERVED.md §D: NULL signature
parameters), so the GBCS lints read the bytes as encoded. This module only splits structures;
it judges nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from smki.errors import MalformedInput
from smki.x509 import der

CONTEXT_0 = 0xA0
CONTEXT_3 = 0xA3


@dataclass(frozen=True)
class Tlv:
    """One DER element: its tag, its contents and its complete encoding."""

    tag: int
    value: bytes
    encoded: bytes


@dataclass(frozen=True)
class RawExtension:
    """One extension as encoded: ``value`` is the DER inside extnValue's OCTET STRING."""

    oid: str
    critical: bool
    value: bytes


def read_one(data: bytes, what: str) -> Tlv:
    """The single TLV that must fill ``data`` exactly."""
    tag, value, end = der.read_tlv(data)
    if end != len(data):
        raise MalformedInput(f"{what}: {len(data) - end} trailing octets after the DER value")
    return Tlv(tag, value, data)


def children(value: bytes) -> list[Tlv]:
    """The elements inside a constructed value, each with its full encoding."""
    out: list[Tlv] = []
    pos = 0
    while pos < len(value):
        tag, contents, end = der.read_tlv(value, pos)
        out.append(Tlv(tag, contents, value[pos:end]))
        pos = end
    return out


def parse_extensions(block: bytes) -> tuple[RawExtension, ...]:
    """Extensions ::= SEQUENCE OF Extension, in DER order."""
    seq = read_one(block, "extensions")
    if seq.tag != der.SEQUENCE:
        raise MalformedInput("extensions are not a SEQUENCE")
    out: list[RawExtension] = []
    for ext in children(seq.value):
        parts = children(ext.value)
        if ext.tag != der.SEQUENCE or not 2 <= len(parts) <= 3 or parts[0].tag != der.OID:
            raise MalformedInput("an extension is not SEQUENCE { OID, [BOOLEAN,] OCTET STRING }")
        critical = False
        if len(parts) == 3:
            if parts[1].tag != der.BOOLEAN:
                raise MalformedInput("extension criticality is not a BOOLEAN")
            critical = parts[1].value != b"\x00"
        if parts[-1].tag != der.OCTET_STRING:
            raise MalformedInput("extnValue is not an OCTET STRING")
        out.append(RawExtension(der.decode_oid(parts[0].value), critical, parts[-1].value))
    return tuple(out)


@dataclass(frozen=True)
class RawCertificate:
    """Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }."""

    tbs: Tlv
    version: int
    serial: bytes  # INTEGER contents octets
    tbs_signature: Tlv
    issuer: Tlv
    not_before: Tlv
    not_after: Tlv
    subject: Tlv
    spki: Tlv
    extensions: tuple[RawExtension, ...]
    signature_algorithm: Tlv
    signature: Tlv

    @property
    def subject_public_key(self) -> bytes:
        """The subjectPublicKey BIT STRING contents without the unused-bits octet."""
        parts = children(self.spki.value)
        if len(parts) != 2 or parts[1].tag != der.BIT_STRING or not parts[1].value:
            raise MalformedInput("subjectPublicKeyInfo is not SEQUENCE { alg, BIT STRING }")
        return parts[1].value[1:]

    def extension(self, oid: str) -> RawExtension | None:
        return next((e for e in self.extensions if e.oid == oid), None)


def parse_certificate(data: bytes) -> RawCertificate:
    """Split a DER certificate; raises MalformedInput with the part that is wrong."""
    outer = read_one(data, "certificate")
    top = children(outer.value)
    if outer.tag != der.SEQUENCE or [t.tag for t in top] != [
        der.SEQUENCE,
        der.SEQUENCE,
        der.BIT_STRING,
    ]:
        raise MalformedInput(
            "not a Certificate: expected SEQUENCE { SEQUENCE, SEQUENCE, BIT STRING }"
        )
    tbs, algorithm, signature = top
    fields = children(tbs.value)
    version = 0
    if fields and fields[0].tag == CONTEXT_0:
        inner = read_one(fields[0].value, "version")
        if inner.tag != der.INTEGER:
            raise MalformedInput("certificate version is not an INTEGER")
        version = int.from_bytes(inner.value, "big", signed=True)
        fields = fields[1:]
    if len(fields) < 6:
        raise MalformedInput("tbsCertificate has fewer than six fields")
    serial, tbs_sig, issuer, validity, subject, spki = fields[:6]
    times = children(validity.value)
    if serial.tag != der.INTEGER or validity.tag != der.SEQUENCE or len(times) != 2:
        raise MalformedInput("tbsCertificate serial or validity is malformed")
    extensions: tuple[RawExtension, ...] = ()
    for extra in fields[6:]:
        # issuerUniqueID [1] and subjectUniqueID [2] are skipped; pkilint reports them.
        if extra.tag == CONTEXT_3:
            extensions = parse_extensions(extra.value)
    return RawCertificate(
        tbs=tbs,
        version=version,
        serial=serial.value,
        tbs_signature=tbs_sig,
        issuer=issuer,
        not_before=times[0],
        not_after=times[1],
        subject=subject,
        spki=spki,
        extensions=extensions,
        signature_algorithm=algorithm,
        signature=signature,
    )


@dataclass(frozen=True)
class RawCrl:
    """CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue }."""

    version: int | None  # None when the optional version field is absent (a v1 CRL)
    tbs_signature: Tlv
    issuer: Tlv
    this_update: Tlv
    next_update: Tlv | None
    revocation_dates: tuple[Tlv, ...]
    extensions: tuple[RawExtension, ...]
    signature_algorithm: Tlv

    def extension(self, oid: str) -> RawExtension | None:
        return next((e for e in self.extensions if e.oid == oid), None)


_TIME_TAGS = (der.UTC_TIME, der.GENERALIZED_TIME)


def parse_crl(data: bytes) -> RawCrl:
    """Split a DER CRL; raises MalformedInput with the part that is wrong."""
    outer = read_one(data, "CRL")
    top = children(outer.value)
    if outer.tag != der.SEQUENCE or [t.tag for t in top] != [
        der.SEQUENCE,
        der.SEQUENCE,
        der.BIT_STRING,
    ]:
        raise MalformedInput(
            "not a CertificateList: expected SEQUENCE { SEQUENCE, SEQUENCE, BIT STRING }"
        )
    fields = children(top[0].value)
    version: int | None = None
    if fields and fields[0].tag == der.INTEGER:
        version = int.from_bytes(fields[0].value, "big", signed=True)
        fields = fields[1:]
    if len(fields) < 3 or fields[2].tag not in _TIME_TAGS:
        raise MalformedInput("tbsCertList lacks signature, issuer or thisUpdate")
    tbs_sig, issuer, this_update = fields[:3]
    rest = fields[3:]
    next_update = None
    if rest and rest[0].tag in _TIME_TAGS:
        next_update, rest = rest[0], rest[1:]
    dates: list[Tlv] = []
    extensions: tuple[RawExtension, ...] = ()
    for item in rest:
        if item.tag == der.SEQUENCE:
            for entry in children(item.value):
                parts = children(entry.value)
                if len(parts) < 2 or parts[1].tag not in _TIME_TAGS:
                    raise MalformedInput("a revoked certificate entry lacks its revocationDate")
                dates.append(parts[1])
        elif item.tag == CONTEXT_0:
            extensions = parse_extensions(item.value)
    return RawCrl(
        version=version,
        tbs_signature=tbs_sig,
        issuer=issuer,
        this_update=this_update,
        next_update=next_update,
        revocation_dates=tuple(dates),
        extensions=extensions,
        signature_algorithm=top[1],
    )
