"""TBS fields for each certificate kind, in the observed GBCS layouts (R-PROF-10…34).

Functions here decide field and extension order, criticality and string types; they take
already-validated typed values (the registration authority validated the request) and return
``TbsFields`` for ``smki.ca.tbs.encode_tbs``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from smki.ids import EntityId
from smki.profiles import extensions as ext
from smki.profiles.kinds import KeyUse
from smki.x509.hwname import HardwareModuleName
from smki.x509.names import EMPTY_NAME, organisation_subject
from smki.x509.roles import RemotePartyRole
from smki.x509.tbs import TbsFields
from smki.x509.timeenc import NO_EXPIRY

_EMPTY_NAME_DER = EMPTY_NAME.public_bytes()


@dataclass(frozen=True)
class IssuerContext:
    """What an issuing CA stamps into every certificate it signs."""

    name: bytes  # DER of the CA's subject, copied byte for byte into ``issuer``
    key_id: bytes  # the CA's SKI, used as AKI
    policy: x509.ObjectIdentifier  # the environment's policy OID for this hierarchy

    def __reduce__(self) -> tuple[object, tuple[bytes, bytes, str]]:
        # cryptography's ObjectIdentifier does not pickle; signing workers need this context.
        return _issuer_context, (self.name, self.key_id, self.policy.dotted_string)


def _issuer_context(name: bytes, key_id: bytes, policy: str) -> IssuerContext:
    return IssuerContext(name, key_id, x509.ObjectIdentifier(policy))


@dataclass(frozen=True)
class SubjectKey:
    """A subject public key with its method-2 key identifier (R-PROF-2)."""

    spki: bytes
    key_id: bytes


def _usage_extension(usage: KeyUse) -> bytes:
    if usage is KeyUse.DIGITAL_SIGNATURE:
        return ext.KEY_USAGE_DS
    if usage is KeyUse.KEY_AGREEMENT:
        return ext.KEY_USAGE_KA
    raise ValueError(f"GBCS end-entity key usage must be ds or ka, not {usage}")


def device(
    issuer: IssuerContext,
    serial: int,
    not_before: dt.datetime,
    key: SubjectKey,
    usage: KeyUse,
    hardware: HardwareModuleName,
) -> TbsFields:
    """Device Certificate: empty subject, KU, SKI, SAN, CP, AKI; never expires (R-PROF-10…13)."""
    return _end_entity(
        issuer,
        serial,
        not_before,
        NO_EXPIRY,
        _EMPTY_NAME_DER,
        key,
        (_usage_extension(usage),),
        after_key_id=(ext.device_subject_alt_name(hardware),),
    )


def organisation(
    issuer: IssuerContext,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
    key: SubjectKey,
    usage: KeyUse,
    role: RemotePartyRole,
    eui: EntityId,
    common_name: str | None,
) -> TbsFields:
    """Organisation Certificate: [CN] OU uniqueIdentifier; KU, SKI, CP, AKI (R-PROF-20…23)."""
    subject = organisation_subject(role, eui, common_name).public_bytes()
    return _end_entity(
        issuer, serial, not_before, not_after, subject, key, (_usage_extension(usage),)
    )


def root_ca(
    subject: x509.Name,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
    key: SubjectKey,
    policy: x509.ObjectIdentifier,
    extra: Sequence[bytes] = (),
) -> TbsFields:
    """Self-signed root: KU, BC (cA), CP, SKI, then e.g. the wrapped contingency key; no AKI
    (R-PROF-31, R-PROF-32)."""
    name = subject.public_bytes()
    return TbsFields(
        serial=serial,
        issuer=name,
        not_before=not_before,
        not_after=not_after,
        subject=name,
        spki=key.spki,
        extensions=(
            ext.KEY_USAGE_CA,
            ext.BASIC_CONSTRAINTS_ROOT,
            ext.certificate_policies(policy),
            ext.subject_key_identifier(key.key_id),
            *extra,
        ),
    )


def issuing_ca(
    issuer: IssuerContext,
    subject: x509.Name,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
    key: SubjectKey,
) -> TbsFields:
    """Issuing CA: KU, BC (cA, pathLen 0), CP, SKI, AKI, as on Z1 (R-PROF-30)."""
    return TbsFields(
        serial=serial,
        issuer=issuer.name,
        not_before=not_before,
        not_after=not_after,
        subject=subject.public_bytes(),
        spki=key.spki,
        extensions=(
            ext.KEY_USAGE_CA,
            ext.BASIC_CONSTRAINTS_ISSUING,
            ext.certificate_policies(issuer.policy),
            ext.subject_key_identifier(key.key_id),
            ext.authority_key_identifier(issuer.key_id),
        ),
    )


def iki(
    issuer: IssuerContext,
    subject: x509.Name,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
    key: SubjectKey,
) -> TbsFields:
    """IKI credential for a person or system: KU digitalSignature, SKI, CP, AKI (R-PROF-33)."""
    return _end_entity(
        issuer, serial, not_before, not_after, subject.public_bytes(), key, (ext.KEY_USAGE_DS,)
    )


def dccki_tls(
    issuer: IssuerContext,
    subject: x509.Name,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
    key: SubjectKey,
    dns_names: Sequence[str],
    usage: KeyUse,
    rsa_key: bool,
) -> TbsFields:
    """DCCKI TLS certificate: KU, EKU, SAN dNSName, SKI, CP, AKI (R-PROF-34)."""
    key_usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=rsa_key,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    purpose = (
        ExtendedKeyUsageOID.SERVER_AUTH
        if usage is KeyUse.TLS_SERVER
        else ExtendedKeyUsageOID.CLIENT_AUTH
    )
    leading = (
        ext.from_cryptography(key_usage, True),
        ext.from_cryptography(x509.ExtendedKeyUsage([purpose]), False),
        ext.from_cryptography(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), False
        ),
    )
    return _end_entity(issuer, serial, not_before, not_after, subject.public_bytes(), key, leading)


def _end_entity(
    issuer: IssuerContext,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
    subject: bytes,
    key: SubjectKey,
    leading: tuple[bytes, ...],
    *,
    after_key_id: tuple[bytes, ...] = (),
) -> TbsFields:
    """The end-entity layout: the kind's own extensions, SKI, [the device SAN], CP, AKI."""
    return TbsFields(
        serial=serial,
        issuer=issuer.name,
        not_before=not_before,
        not_after=not_after,
        subject=subject,
        spki=key.spki,
        extensions=(
            *leading,
            ext.subject_key_identifier(key.key_id),
            *after_key_id,
            ext.certificate_policies(issuer.policy),
            ext.authority_key_identifier(issuer.key_id),
        ),
    )
