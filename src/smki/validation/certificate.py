"""One certificate as the validator reads it: parsed once, linted once (R-RP-1, R-RP-2).

Everything the checks need is decided here from the DER as encoded: the signed bytes (not a
re-encoding), names byte for byte (path building matches them exactly), the key identifiers,
the CA flags and the device's hwSerialNum. A :class:`TrustStore` keeps these objects, so an
anchor or an intermediate is parsed and linted once however many certificates it validates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from smki.errors import InputError, MalformedInput
from smki.ids import EntityId
from smki.lint import extvalues
from smki.lint.context import detect_kind, parse_leniently
from smki.lint.finding import CertKind, Finding
from smki.lint.raw import RawCertificate, children
from smki.lint.runner import lint_certificate
from smki.validation.verdict import CertificateSummary
from smki.x509 import der
from smki.x509.hwname import read_device_san
from smki.x509.keyid import key_id_from_point
from smki.x509.oids import ECDSA_WITH_SHA256

T = TypeVar("T")
_EMPTY_NAME = der.sequence()
_SHORT_NAMES = {
    NameOID.COMMON_NAME: "CN",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.COUNTRY_NAME: "C",
    NameOID.X500_UNIQUE_IDENTIFIER: "uniqueIdentifier",
}


def display_name(name: x509.Name) -> str:
    """A Name in DER order (``OU=07, CN=Z1``, as OBSERVED.md writes them); a uniqueIdentifier
    BIT STRING shows as the hex of its octets (the EUI-64)."""
    parts = []
    for attribute in name:
        label = _SHORT_NAMES.get(attribute.oid, attribute.oid.dotted_string)
        value = attribute.value
        if isinstance(value, bytes):
            text = (value[1:] if value[:1] == b"\x00" else value).hex().upper()
        else:
            text = value
        parts.append(f"{label}={text}")
    return ", ".join(parts) if parts else "(empty name)"


@dataclass(frozen=True, eq=False)
class Certificate:
    """A parsed certificate; compare by ``der``, never by object identity."""

    der: bytes
    #: tbsCertificate exactly as encoded: the bytes the issuer signed.
    tbs: bytes
    signature: bytes
    signature_is_ecdsa_sha256: bool
    subject_der: bytes
    issuer_der: bytes
    subject_text: str
    issuer_text: str
    serial: int
    #: The subjectKeyIdentifier value when present, else None.
    subject_key_id: bytes | None
    #: The RFC 5280 method-2 key identifier of the subject key (R-PROF-2), for matching an
    #: authorityKeyIdentifier when the issuer carries no SKI.
    computed_key_id: bytes
    authority_key_id: bytes | None
    #: The P-256 public key, or None when the key is of another type or curve (R-PROF-1).
    public_key: ec.EllipticCurvePublicKey | None
    is_ca: bool
    path_length: int | None
    #: keyUsage bit names; None when keyUsage is absent.
    key_usage: frozenset[str] | None
    #: hwSerialNum of the HardwareModuleName when the SAN holds exactly one (R-PROF-10).
    device: EntityId | None
    not_before: dt.datetime
    not_after: dt.datetime
    kind: CertKind
    findings: tuple[Finding, ...]

    @property
    def self_issued(self) -> bool:
        return self.subject_der == self.issuer_der

    @property
    def key_ids(self) -> frozenset[bytes]:
        """Identifiers an authorityKeyIdentifier may use to name this certificate's key."""
        ids = {self.computed_key_id}
        if self.subject_key_id is not None:
            ids.add(self.subject_key_id)
        return frozenset(ids)

    @property
    def may_sign_certificates(self) -> bool:
        """cA TRUE and, when keyUsage is present, keyCertSign (RFC 5280 §4.2.1.3, §4.2.1.9)."""
        return self.is_ca and (self.key_usage is None or "keyCertSign" in self.key_usage)

    @property
    def may_sign_crls(self) -> bool:
        return self.key_usage is None or "cRLSign" in self.key_usage

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def subject_label(self) -> str:
        """The subject, or ``device <EUI-64>`` for a Device Certificate's empty subject."""
        if self.device is not None and self.subject_der == _EMPTY_NAME:
            return f"device {self.device.hex().upper()}"
        return self.subject_text

    @property
    def label(self) -> str:
        """How a message names this certificate: subject (or device) and serial."""
        return f"{self.subject_label} (serial {self.serial:X})"

    def summary(self, role: str) -> CertificateSummary:
        return CertificateSummary(
            role=role,
            subject=self.subject_label,
            serial=f"{self.serial:X}",
            issuer=self.issuer_text,
            kind=self.kind.value,
            not_before=self.not_before,
            not_after=self.not_after,
        )

    def signed_by(self, key: ec.EllipticCurvePublicKey | None) -> bool:
        """Whether ``key`` made this certificate's ecdsa-with-SHA256 signature (R-PROF-1)."""
        return verify_signature(key, self.signature_is_ecdsa_sha256, self.signature, self.tbs)


def verify_signature(
    key: ec.EllipticCurvePublicKey | None, ecdsa_sha256: bool, signature: bytes, signed: bytes
) -> bool:
    """ECDSA P-256 with SHA-256 only: any other algorithm or key never verifies."""
    if key is None or not ecdsa_sha256:
        return False
    try:
        key.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def is_ecdsa_sha256(algorithm_identifier: bytes) -> bool:
    """An AlgorithmIdentifier naming ecdsa-with-SHA256 (its parameters are the linter's
    business: OBSERVED.md §D's NULL parameters are reported by gbcs.signature_algorithm)."""
    _, body, _ = der.read_tlv(algorithm_identifier)
    parts = children(body)
    return bool(parts) and (
        parts[0].tag == der.OID
        and der.decode_oid(parts[0].value) == ECDSA_WITH_SHA256.dotted_string
    )


def _p256_key(cert: x509.Certificate) -> ec.EllipticCurvePublicKey | None:
    try:
        key = cert.public_key()
    except (ValueError, TypeError):
        return None
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    return None


def _decoded(raw: RawCertificate, oid: str, decode: Callable[[bytes], T]) -> T | None:
    """An extension's decoded value; None when absent or when it does not decode (the linter
    reports the encoding; the validator never reads more trust into it than is encoded)."""
    found = raw.extension(oid)
    if found is None:
        return None
    try:
        return decode(found.value)
    except MalformedInput:
        return None


def _key_usage(raw: RawCertificate) -> frozenset[str] | None:
    if raw.extension(extvalues.KEY_USAGE) is None:
        return None
    # A keyUsage that does not decode grants nothing.
    return _decoded(raw, extvalues.KEY_USAGE, extvalues.key_usage) or frozenset()


def _device(cert: x509.Certificate) -> EntityId | None:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return read_device_san(san).hw_serial
    except (x509.ExtensionNotFound, ValueError, InputError):
        return None


def parse_certificate(data: bytes, *, rfc5280: bool = True) -> Certificate:
    """Parse and lint one DER certificate (GBCS lints, plus pkilint's RFC 5280 lints unless
    ``rfc5280`` is False). Raises MalformedInput when the bytes are not a certificate."""
    raw, cert, _ = parse_leniently(data)
    if cert is None:
        raise MalformedInput("the certificate cannot be parsed (cryptography refuses it)")
    findings = tuple(lint_certificate(data, rfc5280=rfc5280))
    constraints = _decoded(raw, extvalues.BASIC_CONSTRAINTS, extvalues.basic_constraints)
    authority = _decoded(
        raw, extvalues.AUTHORITY_KEY_IDENTIFIER, extvalues.authority_key_identifier
    )
    try:
        subject_text, issuer_text = display_name(cert.subject), display_name(cert.issuer)
        device = _device(cert)
    except ValueError as exc:
        raise MalformedInput(f"the certificate cannot be parsed: {exc}") from exc
    return Certificate(
        der=data,
        tbs=raw.tbs.encoded,
        signature=raw.signature.value[1:],  # BIT STRING contents after the unused-bits octet
        signature_is_ecdsa_sha256=is_ecdsa_sha256(raw.signature_algorithm.encoded),
        subject_der=raw.subject.encoded,
        issuer_der=raw.issuer.encoded,
        subject_text=subject_text,
        issuer_text=issuer_text,
        serial=cert.serial_number,
        subject_key_id=_decoded(
            raw, extvalues.SUBJECT_KEY_IDENTIFIER, extvalues.subject_key_identifier
        ),
        computed_key_id=key_id_from_point(raw.subject_public_key),
        authority_key_id=authority.key_identifier if authority else None,
        public_key=_p256_key(cert),
        is_ca=constraints.ca if constraints else False,
        path_length=constraints.path_length if constraints else None,
        key_usage=_key_usage(raw),
        device=device,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        kind=detect_kind(raw),
        findings=findings,
    )
