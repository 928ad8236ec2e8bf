"""CSR → certificate → parse (R-PROF-10…14, R-PROF-20…24, R-SI-3).

Device and Organisation CSRs made with ``cryptography``'s ``CertificateSigningRequestBuilder``
pass ``check_csr``; the typed request is built into a certificate with ``build`` and
``encode_tbs``, signed and parsed, and the certificate carries the CSR's key, EUI-64, key usage
and (Organisation) subject, with the device notAfter 9999-12-31 23:59:59 UTC.
"""

from __future__ import annotations

import datetime as dt
import warnings

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from smki.errors import CsrRefused
from smki.ids import EntityId
from smki.profiles import build
from smki.profiles.kinds import KeyUse
from smki.ra.csr import DeviceRequest, OrganisationRequest, check_csr
from smki.x509.hwname import HardwareModuleName, read_device_san
from smki.x509.keyid import key_id
from smki.x509.names import organisation_subject, read_organisation_subject
from smki.x509.oids import DEFAULT_DEVICE_HW_TYPE, HARDWARE_MODULE_NAME
from smki.x509.roles import RemotePartyRole
from smki.x509.tbs import encode_tbs
from tests.property.strategies import (
    Authority,
    authorities,
    euis,
    oids,
    private_keys,
    serials,
    sign_tbs,
    times,
    utf8_names,
    validities,
)

_FIXED = settings(max_examples=40, deadline=None)

usages = st.sampled_from([KeyUse.DIGITAL_SIGNATURE, KeyUse.KEY_AGREEMENT])
hw_types = st.one_of(st.just(DEFAULT_DEVICE_HW_TYPE), oids())
#: Roles a subscriber may hold; root and issuingAuthority are CA-only (R-PROF-24).
_CA_ROLES = [RemotePartyRole.ROOT, RemotePartyRole.ISSUING_AUTHORITY]
subscriber_roles = st.sampled_from([r for r in RemotePartyRole if r not in _CA_ROLES])


def _key_usage(usage: KeyUse) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=usage is KeyUse.DIGITAL_SIGNATURE,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=usage is KeyUse.KEY_AGREEMENT,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _device_csr(
    key: ec.EllipticCurvePrivateKey, usage: KeyUse, hardware: HardwareModuleName
) -> bytes:
    # R-PROF-14: empty subject, keyUsage and HardwareModuleName SAN, both critical.
    san = x509.SubjectAlternativeName([x509.OtherName(HARDWARE_MODULE_NAME, hardware.encode())])
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .add_extension(_key_usage(usage), critical=True)
        .add_extension(san, critical=True)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(Encoding.DER)


def _organisation_csr(key: ec.EllipticCurvePrivateKey, usage: KeyUse, subject: x509.Name) -> bytes:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject)
        .add_extension(_key_usage(usage), critical=True)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(Encoding.DER)


def _assert_key_usage(certificate: x509.Certificate, usage: KeyUse) -> None:
    extension = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert extension.critical
    assert extension.value == _key_usage(usage)


@_FIXED
@given(authorities(), private_keys, usages, hw_types, euis, serials, times)
def test_device_csr_to_certificate(
    authority: Authority,
    key: ec.EllipticCurvePrivateKey,
    usage: KeyUse,
    hw_type: x509.ObjectIdentifier,
    eui: EntityId,
    serial: int,
    not_before: dt.datetime,
) -> None:
    hardware = HardwareModuleName(hw_type, eui)
    csr = _device_csr(key, usage, hardware)
    request = check_csr(csr)
    assert isinstance(request, DeviceRequest)
    assert request.usage is usage
    assert request.eui == eui
    assert request.hardware == hardware
    assert request.key.key_id == key_id(key.public_key())

    fields = build.device(
        authority.context, serial, not_before, request.key, request.usage, request.hardware
    )
    certificate = sign_tbs(authority.key, encode_tbs(fields))
    certificate.verify_directly_issued_by(authority.certificate)
    assert certificate.public_key() == x509.load_der_x509_csr(csr).public_key()
    assert certificate.public_key() == key.public_key()
    assert certificate.serial_number == serial
    assert len(certificate.subject) == 0
    # R-PROF-10 / R-PROF-14: the SAN is copied from the CSR, byte for byte.
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical
    assert read_device_san(san.value) == hardware
    assert read_device_san(san.value).hw_serial == eui
    requested = x509.load_der_x509_csr(csr).extensions
    assert san.value == requested.get_extension_for_class(x509.SubjectAlternativeName).value
    _assert_key_usage(certificate, usage)
    assert certificate.not_valid_before_utc == not_before
    assert certificate.not_valid_after_utc == dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)


@_FIXED
@given(
    authorities(),
    private_keys,
    usages,
    subscriber_roles,
    euis,
    st.none() | utf8_names,
    serials,
    validities(),
)
def test_organisation_csr_to_certificate(
    authority: Authority,
    key: ec.EllipticCurvePrivateKey,
    usage: KeyUse,
    role: RemotePartyRole,
    eui: EntityId,
    common_name: str | None,
    serial: int,
    validity: tuple[dt.datetime, dt.datetime],
) -> None:
    subject = organisation_subject(role, eui, common_name)
    csr = _organisation_csr(key, usage, subject)
    request = check_csr(csr)
    assert isinstance(request, OrganisationRequest)
    assert (request.role, request.eui, request.common_name) == (role, eui, common_name)
    assert request.usage is usage
    assert check_csr(csr, role=role) == request  # the operator's --role agrees with the OU

    not_before, not_after = validity
    fields = build.organisation(
        authority.context,
        serial,
        not_before,
        not_after,
        request.key,
        request.usage,
        request.role,
        request.eui,
        request.common_name,
    )
    certificate = sign_tbs(authority.key, encode_tbs(fields))
    certificate.verify_directly_issued_by(authority.certificate)
    assert certificate.public_key() == key.public_key()
    assert certificate.subject.public_bytes() == subject.public_bytes()
    identity = read_organisation_subject(certificate.subject)
    assert (identity.role, identity.eui, identity.common_name) == (role, eui, common_name)
    _assert_key_usage(certificate, usage)
    assert certificate.not_valid_before_utc == not_before
    assert certificate.not_valid_after_utc == not_after
    with pytest.raises(x509.ExtensionNotFound):
        certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)


@pytest.mark.parametrize(
    "role",
    [
        pytest.param(RemotePartyRole.ROOT, id="root"),
        pytest.param(RemotePartyRole.ISSUING_AUTHORITY, id="issuingAuthority"),
    ],
)
@settings(max_examples=10, deadline=None)
@given(key=private_keys, usage=usages, eui=euis)
def test_ca_roles_are_refused_on_organisation_csrs(
    role: RemotePartyRole, key: ec.EllipticCurvePrivateKey, usage: KeyUse, eui: EntityId
) -> None:
    # R-PROF-24: root and issuingAuthority are reserved for CA certificates.
    csr = _organisation_csr(key, usage, organisation_subject(role, eui))
    with pytest.raises(CsrRefused) as refused:
        check_csr(csr)
    assert refused.value.code == "role-not-issuable"


def test_a_common_name_organisation_cannot_encode_is_refused_at_the_csr() -> None:
    # 40 characters, 80 UTF-8 octets: cryptography's NameAttribute bound is in octets.
    long_name = "é" * 40
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        attribute = x509.NameAttribute(
            NameOID.COMMON_NAME, long_name, _ASN1Type.UTF8String, _validate=False
        )
        tail = organisation_subject(RemotePartyRole.SUPPLIER, EntityId(bytes(range(8))))
        subject = x509.Name([x509.RelativeDistinguishedName([attribute]), *tail.rdns])
        key = ec.derive_private_key(7, ec.SECP256R1())
        csr = _organisation_csr(key, KeyUse.DIGITAL_SIGNATURE, subject)
        try:
            request = check_csr(csr)
        except CsrRefused:
            return  # the fixed behaviour
    assert isinstance(request, OrganisationRequest)
    at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    context = build.IssuerContext(x509.Name([]).public_bytes(), bytes(8), DEFAULT_DEVICE_HW_TYPE)
    build.organisation(
        context,
        0x40 << 120,
        at,
        at,
        request.key,
        request.usage,
        request.role,
        request.eui,
        request.common_name,
    )
