"""CSR checks with named refusals (R-PROF-14, R-SI-3).

A CSR is read, its proof of possession verified, and its contents turned into a typed
request for exactly one profile: a Device request (empty subject, HardwareModuleName SAN) or
an Organisation request (OU + uniqueIdentifier). Each refusal is its own ``CsrRefused`` code.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import ExtensionOID, NameOID

from smki.errors import CsrRefused, InputError
from smki.ids import EntityId
from smki.profiles.build import SubjectKey
from smki.profiles.kinds import CertKind, KeyUse
from smki.x509.hwname import HardwareModuleName, read_device_san
from smki.x509.keyid import key_id_from_point
from smki.x509.keys import P256_SPKI_PREFIX, require_p256
from smki.x509.names import read_organisation_subject
from smki.x509.roles import RemotePartyRole

_PEM_HEADERS = (b"-----BEGIN CERTIFICATE REQUEST-----", b"-----BEGIN NEW CERTIFICATE REQUEST-----")
#: Roles that are never end-entity Organisation Certificates of a subscriber (R-PROF-24).
#: X.520 ub-common-name, as cryptography enforces it on encoding.
_MAX_COMMON_NAME_OCTETS = 64
_CA_ROLES = frozenset({RemotePartyRole.ROOT, RemotePartyRole.ISSUING_AUTHORITY})


@dataclass(frozen=True)
class DeviceRequest:
    key: SubjectKey
    usage: KeyUse
    hardware: HardwareModuleName
    csr_sha256: bytes
    point: bytes  # the 65-octet uncompressed P-256 point, for the device template
    kind: CertKind = CertKind.DEVICE

    @property
    def eui(self) -> EntityId:
        return self.hardware.hw_serial


@dataclass(frozen=True)
class OrganisationRequest:
    key: SubjectKey
    usage: KeyUse
    role: RemotePartyRole
    eui: EntityId
    common_name: str | None
    csr_sha256: bytes
    kind: CertKind = CertKind.ORGANISATION


CertificateRequest = DeviceRequest | OrganisationRequest


def load_csr(data: bytes) -> x509.CertificateSigningRequest:
    """PEM or DER PKCS#10; anything else is ``malformed-csr``."""
    stripped = data.strip()
    try:
        if stripped.startswith(_PEM_HEADERS):
            return x509.load_pem_x509_csr(stripped)
        if stripped.startswith(b"-----BEGIN"):
            raise CsrRefused("PEM block is not a CERTIFICATE REQUEST", code="malformed-csr")
        return x509.load_der_x509_csr(data)
    except ValueError as exc:
        raise CsrRefused(
            "not a PKCS#10 certificate signing request (PEM or DER)", code="malformed-csr"
        ) from exc


def _key_usage(csr: x509.CertificateSigningRequest) -> KeyUse:
    try:
        usage = csr.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
    except x509.ExtensionNotFound as exc:
        raise CsrRefused(
            "the CSR requests no keyUsage; exactly one of digitalSignature or "
            "keyAgreement is required",
            code="key-usage-count",
            rid="R-PROF-11",
        ) from exc
    assert isinstance(usage, x509.KeyUsage)
    ds, ka = usage.digital_signature, usage.key_agreement
    others = (
        usage.content_commitment
        or usage.key_encipherment
        or usage.data_encipherment
        or usage.key_cert_sign
        or usage.crl_sign
    )
    if ds == ka or others:
        raise CsrRefused(
            "keyUsage must be exactly one of digitalSignature or keyAgreement",
            code="key-usage-count",
            rid="R-PROF-11",
        )
    return KeyUse.DIGITAL_SIGNATURE if ds else KeyUse.KEY_AGREEMENT


def _extensions(csr: x509.CertificateSigningRequest) -> x509.Extensions:
    try:
        return csr.extensions
    except ValueError as exc:
        raise CsrRefused(
            "the CSR's extensionRequest cannot be decoded", code="malformed-csr"
        ) from exc


def check_csr(data: bytes, *, role: RemotePartyRole | None = None) -> CertificateRequest:
    """Read, verify and classify a CSR. ``role`` (the operator's --role) is needed only
    when the CSR has no OU; when both are present they must agree."""
    csr = load_csr(data)
    key = require_p256(csr.public_key(), rid="R-SI-3")
    if not csr.is_signature_valid:
        raise CsrRefused(
            "the CSR's self-signature does not verify (no proof of possession)",
            code="bad-proof-of-possession",
            rid="R-PROF-14",
        )
    extensions = _extensions(csr)
    usage = _key_usage(csr)
    point = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    subject_key = SubjectKey(spki=P256_SPKI_PREFIX + point, key_id=key_id_from_point(point))
    digest = hashlib.sha256(csr.public_bytes(Encoding.DER)).digest()
    try:
        san = extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        san = None
    subject = csr.subject
    if san is not None and len(subject) == 0:
        assert isinstance(san, x509.SubjectAlternativeName)
        hardware = read_device_san(san)
        if role is not None:
            raise CsrRefused(
                "a Device CSR carries no Remote Party Role", code="role-on-device", rid="R-PROF-10"
            )
        return DeviceRequest(subject_key, usage, hardware, digest, point)
    if san is not None:
        assert isinstance(san, x509.SubjectAlternativeName)
        is_device_like = any(isinstance(n, x509.OtherName) for n in san)
        if is_device_like:
            raise CsrRefused(
                "a Device CSR must have an empty subject",
                code="device-subject-not-empty",
                rid="R-PROF-10",
            )
        raise CsrRefused(
            "an Organisation CSR must not request a subjectAltName",
            code="san-on-organisation",
            rid="R-PROF-21",
        )
    if len(subject) == 0:
        raise CsrRefused(
            "empty subject and no HardwareModuleName: neither a Device nor an Organisation CSR",
            code="unknown-profile",
            rid="R-PROF-14",
        )
    return _organisation(subject, subject_key, usage, digest, role)


def _organisation(
    subject: x509.Name, key: SubjectKey, usage: KeyUse, digest: bytes, role: RemotePartyRole | None
) -> OrganisationRequest:
    try:
        identity = read_organisation_subject(subject)
    except InputError as exc:
        raise CsrRefused(exc.detail, code=exc.code, rid=exc.rid) from exc
    if identity.eui is None:
        raise CsrRefused(
            "an Organisation CSR needs a uniqueIdentifier (the EUI-64)",
            code="missing-unique-identifier",
            rid="R-PROF-20",
        )
    chosen = identity.role if identity.role is not None else role
    if identity.role is not None and role is not None and identity.role != role:
        raise CsrRefused(
            f"--role {role.ou} disagrees with the CSR's OU {identity.role.ou}",
            code="role-mismatch",
            rid="R-PROF-20",
        )
    if chosen is None:
        raise CsrRefused(
            "the CSR carries no OU; give the Remote Party Role",
            code="missing-role",
            rid="R-PROF-20",
        )
    if chosen in _CA_ROLES:
        raise CsrRefused(
            f"role {chosen.gbcs_name} is reserved for CA certificates",
            code="role-not-issuable",
            rid="R-PROF-24",
        )
    names = [a for a in subject if a.oid == NameOID.COMMON_NAME]
    if len(names) > 1:
        raise CsrRefused("at most one commonName", code="bad-subject", rid="R-PROF-20")
    if (
        identity.common_name is not None
        and not 1 <= len(identity.common_name.encode("utf-8")) <= _MAX_COMMON_NAME_OCTETS
    ):
        raise CsrRefused(
            f"commonName must be 1 to {_MAX_COMMON_NAME_OCTETS} UTF-8 octets",
            code="bad-subject",
            rid="R-PROF-20",
        )
    return OrganisationRequest(key, usage, chosen, identity.eui, identity.common_name, digest)
