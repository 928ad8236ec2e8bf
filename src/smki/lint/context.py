"""What every certificate lint is handed: raw view, parsed view, kind and options (R-PROF-40).

The kind is either what the caller says it issued or is detected from the certificate:
CA (basicConstraints cA TRUE; root when self-issued), device (empty subject and a
HardwareModuleName in subjectAltName), organisation (organizationalUnitName plus
uniqueIdentifier), otherwise unknown. IKI and DCCKI kinds are only ever given by the caller
(R-PROF-33, R-PROF-34).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from cryptography import x509

from smki.errors import MalformedInput
from smki.lint import extvalues
from smki.lint.finding import CertKind
from smki.lint.raw import (
    CONTEXT_0,
    RawCertificate,
    RawExtension,
    Tlv,
    children,
    parse_certificate,
    read_one,
)
from smki.x509 import der
from smki.x509.oids import ECDSA_WITH_SHA256, HARDWARE_MODULE_NAME, UNIQUE_IDENTIFIER
from smki.x509.tbs import ECDSA_SHA256_ALGORITHM

ORGANIZATIONAL_UNIT = "2.5.4.11"
COMMON_NAME = "2.5.4.3"
ORGANIZATION = "2.5.4.10"


@dataclass(frozen=True)
class LintOptions:
    """Configuration a caller passes through ``lint_certificate``."""

    #: Policy OIDs allowed in this environment (R-PROF-2); None = do not check the value.
    allowed_policies: frozenset[str] | None = None
    #: Hold the serial to what smki issues (first octet 0x10–0x7F, R-PROF-3). Off by default
    #: because a real Z1 certificate has a serial starting 0x0F (OBSERVED.md §F, dSPXmlSign).
    strict_serial: bool = False


@dataclass(frozen=True)
class Attribute:
    """One AttributeTypeAndValue as encoded: ``tag`` is the value's ASN.1 tag."""

    oid: str
    tag: int
    value: bytes


@dataclass(frozen=True)
class CertContext:
    raw: RawCertificate
    #: cryptography's view, or None when cryptography refuses the encoding even after the
    #: signature-parameter normalisation described in ``parse_leniently``.
    cert: x509.Certificate | None
    #: Why cryptography refused or warned on the bytes as given (None when it accepted them).
    parse_problem: str | None
    kind: CertKind
    options: LintOptions

    def extension(self, oid: str) -> RawExtension | None:
        return self.raw.extension(oid)


def rdns(name: Tlv) -> list[list[Attribute]]:
    """A Name's RDNs in DER order, each a list of its attributes."""
    if name.tag != der.SEQUENCE:
        raise MalformedInput("a Name is not a SEQUENCE")
    out: list[list[Attribute]] = []
    for rdn in children(name.value):
        if rdn.tag != der.SET:
            raise MalformedInput("a RelativeDistinguishedName is not a SET")
        attributes: list[Attribute] = []
        for atv in children(rdn.value):
            parts = children(atv.value)
            if atv.tag != der.SEQUENCE or len(parts) != 2 or parts[0].tag != der.OID:
                raise MalformedInput("an AttributeTypeAndValue is not SEQUENCE { OID, value }")
            attributes.append(
                Attribute(der.decode_oid(parts[0].value), parts[1].tag, parts[1].value)
            )
        out.append(attributes)
    return out


def has_hardware_module_name(raw: RawCertificate) -> bool:
    san = raw.extension(extvalues.SUBJECT_ALT_NAME)
    if san is None:
        return False
    try:
        names = children(read_one(san.value, "subjectAltName").value)
        for name in names:
            if name.tag == 0xA0:  # otherName [0] { type-id OID, [0] value }
                first = children(name.value)[0]
                if (
                    first.tag == der.OID
                    and der.decode_oid(first.value) == HARDWARE_MODULE_NAME.dotted_string
                ):
                    return True
    except (MalformedInput, IndexError):
        return False
    return False


def detect_kind(raw: RawCertificate) -> CertKind:
    bc = raw.extension(extvalues.BASIC_CONSTRAINTS)
    if bc is not None:
        try:
            if extvalues.basic_constraints(bc.value).ca:
                self_issued = raw.issuer.encoded == raw.subject.encoded
                return CertKind.ROOT_CA if self_issued else CertKind.ISSUING_CA
        except MalformedInput:
            pass
    try:
        subject = rdns(raw.subject)
    except MalformedInput:
        return CertKind.UNKNOWN
    if not subject and has_hardware_module_name(raw):
        return CertKind.DEVICE
    types = {a.oid for rdn in subject for a in rdn}
    if {ORGANIZATIONAL_UNIT, UNIQUE_IDENTIFIER.dotted_string} <= types:
        return CertKind.ORGANISATION
    return CertKind.UNKNOWN


def _is_ecdsa_sha256_with_parameters(algorithm: Tlv) -> bool:
    parts = children(algorithm.value)
    return (
        len(parts) > 1
        and parts[0].tag == der.OID
        and der.decode_oid(parts[0].value) == ECDSA_WITH_SHA256.dotted_string
    )


def _without_signature_parameters(raw: RawCertificate) -> bytes:
    """The certificate re-encoded with ecdsa-with-SHA256 parameters removed from both
    AlgorithmIdentifiers. Used only to let cryptography parse the rest of a certificate that
    gbcs.signature_algorithm has already reported (OBSERVED.md §D, Z99 NULL parameters); the
    signature over this copy is meaningless and never checked."""
    fields = children(raw.tbs.value)
    index = 2 if fields[0].tag == CONTEXT_0 else 1  # signature follows [version,] serial
    parts = [f.encoded for f in fields]
    parts[index] = ECDSA_SHA256_ALGORITHM
    tbs = der.tlv(der.SEQUENCE, b"".join(parts))
    return der.sequence(tbs, ECDSA_SHA256_ALGORITHM, raw.signature.encoded)


def _load(data: bytes) -> tuple[x509.Certificate | None, str | None]:
    # Only this parse is guarded: older cryptography releases warn (rather than refuse) on
    # parameters that RFC 5758 forbids; the warning becomes a finding, not a test failure.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cert = x509.load_der_x509_certificate(data)
        except (ValueError, x509.InvalidVersion) as exc:
            return None, f"cryptography refuses it: {exc}"
    if caught:
        return cert, f"cryptography warns: {caught[0].message}"
    return cert, None


def parse_leniently(data: bytes) -> tuple[RawCertificate, x509.Certificate | None, str | None]:
    """Raw view (must succeed), cryptography view (may be None) and the parse problem."""
    raw = parse_certificate(data)
    cert, problem = _load(data)
    if cert is None and _is_ecdsa_sha256_with_parameters(raw.tbs_signature):
        cert, _ = _load(_without_signature_parameters(raw))
    return raw, cert, problem


def build_context(data: bytes, kind: CertKind | None, options: LintOptions) -> CertContext:
    raw, cert, problem = parse_leniently(data)
    return CertContext(
        raw=raw,
        cert=cert,
        parse_problem=problem,
        kind=kind if kind is not None else detect_kind(raw),
        options=options,
    )
