"""Whole TBS certificates against ``CertificateBuilder`` (R-PROF-1…5, R-PROF-10…13,
R-PROF-20…23, R-PROF-30…34, R-CA-4).

For random keys, serials, validities, EUI-64s, roles and names, ``encode_tbs`` of each
``smki.profiles.build`` layout must equal the ``tbs_certificate_bytes`` that ``cryptography``
writes for the same fields and the same extensions in the same order and criticality. The
TBS is then signed, assembled with ``encode_certificate`` and parsed back (R-CA-4: the signed
bytes are the linted TBS).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given, settings
from hypothesis import strategies as st

from smki.ids import EntityId
from smki.profiles import build
from smki.profiles import extensions as ext
from smki.profiles.kinds import KeyUse
from smki.x509 import der
from smki.x509.hwname import HardwareModuleName, read_device_san
from smki.x509.keyid import key_id
from smki.x509.names import (
    OrganisationIdentity,
    holder_subject,
    organisation_subject,
    read_organisation_subject,
)
from smki.x509.oids import DEFAULT_CONTINGENCY_KEY_EXTENSION, HARDWARE_MODULE_NAME
from smki.x509.roles import RemotePartyRole
from smki.x509.tbs import ECDSA_SHA256_ALGORITHM, encode_tbs
from smki.x509.timeenc import NO_EXPIRY
from tests.property.reference import ExtensionSpec, reference_tbs
from tests.property.strategies import (
    Authority,
    authorities,
    ca_names,
    euis,
    oids,
    private_keys,
    roles,
    serials,
    sign_tbs,
    subject_key,
    times,
    utf8_names,
    validities,
)

_FIXED = settings(max_examples=50, deadline=None)

end_entity_usages = st.sampled_from([KeyUse.DIGITAL_SIGNATURE, KeyUse.KEY_AGREEMENT])
Validity = tuple[dt.datetime, dt.datetime]


@dataclass(frozen=True)
class Expected:
    """The fields a certificate must carry, as ``cryptography`` objects."""

    subject: x509.Name
    issuer: x509.Name
    serial: int
    not_before: dt.datetime
    not_after: dt.datetime
    key: ec.EllipticCurvePrivateKey
    extensions: Sequence[ExtensionSpec]

    def reference(self) -> bytes:
        return reference_tbs(
            subject=self.subject,
            issuer=self.issuer,
            serial=self.serial,
            not_before=self.not_before,
            not_after=self.not_after,
            public_key=self.key.public_key(),
            extensions=self.extensions,
        )


def _key_usage(usage: KeyUse) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=usage is KeyUse.DIGITAL_SIGNATURE,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=usage is KeyUse.KEY_AGREEMENT,
        key_cert_sign=usage is KeyUse.CA,
        crl_sign=usage is KeyUse.CA,
        encipher_only=False,
        decipher_only=False,
    )


def _ski(key: ec.EllipticCurvePrivateKey) -> ExtensionSpec:
    return (x509.SubjectKeyIdentifier(key_id(key.public_key())), False)


def _aki(authority: Authority) -> ExtensionSpec:
    return (x509.AuthorityKeyIdentifier(authority.context.key_id, None, None), False)


def _policy(policy: x509.ObjectIdentifier) -> ExtensionSpec:
    return (x509.CertificatePolicies([x509.PolicyInformation(policy, None)]), True)


def _check(
    tbs: bytes,
    expected: Expected,
    *,
    signer: ec.EllipticCurvePrivateKey,
    issuer_certificate: x509.Certificate | None,
) -> x509.Certificate:
    """Byte identity with ``cryptography``, then sign, assemble, parse and compare fields."""
    assert tbs == expected.reference()
    certificate = sign_tbs(signer, tbs)
    assert certificate.tbs_certificate_bytes == tbs
    assert certificate.version is x509.Version.v3
    assert certificate.serial_number == expected.serial
    assert certificate.subject == expected.subject
    assert certificate.issuer == expected.issuer
    assert certificate.not_valid_before_utc == expected.not_before
    assert certificate.not_valid_after_utc == expected.not_after
    assert certificate.public_key() == expected.key.public_key()
    assert list(certificate.extensions) == [
        x509.Extension(value.oid, critical, value) for value, critical in expected.extensions
    ]
    # R-PROF-1: ecdsa-with-SHA256 with absent parameters outside the TBS too.
    _, body, _ = der.read_tlv(certificate.public_bytes(Encoding.DER))
    tag, algorithm = der.split_sequence(body)[1]
    assert der.tlv(tag, algorithm) == ECDSA_SHA256_ALGORITHM
    certificate.verify_directly_issued_by(issuer_certificate or certificate)
    return certificate


@_FIXED
@given(authorities(), private_keys, serials, times, end_entity_usages, oids(), euis)
def test_device(
    authority: Authority,
    key: ec.EllipticCurvePrivateKey,
    serial: int,
    not_before: dt.datetime,
    usage: KeyUse,
    hw_type: x509.ObjectIdentifier,
    eui: EntityId,
) -> None:
    # R-PROF-10…13: empty subject; KU, SKI, SAN, CP, AKI; notAfter 99991231235959Z.
    hardware = HardwareModuleName(hw_type, eui)
    fields = build.device(authority.context, serial, not_before, subject_key(key), usage, hardware)
    san = x509.SubjectAlternativeName([x509.OtherName(HARDWARE_MODULE_NAME, hardware.encode())])
    expected = Expected(
        subject=x509.Name([]),
        issuer=authority.name,
        serial=serial,
        not_before=not_before,
        not_after=NO_EXPIRY,
        key=key,
        extensions=[
            (_key_usage(usage), True),
            _ski(key),
            (san, True),
            _policy(authority.context.policy),
            _aki(authority),
        ],
    )
    certificate = _check(
        encode_tbs(fields),
        expected,
        signer=authority.key,
        issuer_certificate=authority.certificate,
    )
    assert certificate.not_valid_after_utc == dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    san_value = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert read_device_san(san_value) == hardware


@_FIXED
@given(
    authorities(),
    private_keys,
    serials,
    validities(),
    end_entity_usages,
    roles,
    euis,
    st.none() | utf8_names,
)
def test_organisation(
    authority: Authority,
    key: ec.EllipticCurvePrivateKey,
    serial: int,
    validity: Validity,
    usage: KeyUse,
    role: RemotePartyRole,
    eui: EntityId,
    common_name: str | None,
) -> None:
    # R-PROF-20…23: [CN] OU uniqueIdentifier; KU, SKI, CP, AKI; no SAN.
    not_before, not_after = validity
    fields = build.organisation(
        authority.context,
        serial,
        not_before,
        not_after,
        subject_key(key),
        usage,
        role,
        eui,
        common_name,
    )
    expected = Expected(
        subject=organisation_subject(role, eui, common_name),
        issuer=authority.name,
        serial=serial,
        not_before=not_before,
        not_after=not_after,
        key=key,
        extensions=[
            (_key_usage(usage), True),
            _ski(key),
            _policy(authority.context.policy),
            _aki(authority),
        ],
    )
    certificate = _check(
        encode_tbs(fields),
        expected,
        signer=authority.key,
        issuer_certificate=authority.certificate,
    )
    assert read_organisation_subject(certificate.subject) == OrganisationIdentity(
        role, eui, common_name
    )


@_FIXED
@given(
    ca_names,
    private_keys,
    serials,
    validities(),
    oids(),
    st.none() | st.binary(max_size=120),
)
def test_root_ca(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    serial: int,
    validity: Validity,
    policy: x509.ObjectIdentifier,
    wrapped_contingency_key: bytes | None,
) -> None:
    # R-PROF-31, R-PROF-32: self-signed; KU, BC (cA), CP, SKI, [contingency key]; no AKI.
    not_before, not_after = validity
    extra_specs: list[ExtensionSpec] = []
    if wrapped_contingency_key is not None:
        contingency = x509.UnrecognizedExtension(
            DEFAULT_CONTINGENCY_KEY_EXTENSION, wrapped_contingency_key
        )
        extra_specs.append((contingency, False))
    extra = [ext.from_cryptography(value, critical) for value, critical in extra_specs]
    fields = build.root_ca(subject, serial, not_before, not_after, subject_key(key), policy, extra)
    expected = Expected(
        subject=subject,
        issuer=subject,
        serial=serial,
        not_before=not_before,
        not_after=not_after,
        key=key,
        extensions=[
            (_key_usage(KeyUse.CA), True),
            (x509.BasicConstraints(ca=True, path_length=None), True),
            _policy(policy),
            _ski(key),
            *extra_specs,
        ],
    )
    _check(encode_tbs(fields), expected, signer=key, issuer_certificate=None)


@_FIXED
@given(authorities(), ca_names, private_keys, serials, validities())
def test_issuing_ca(
    authority: Authority,
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    serial: int,
    validity: Validity,
) -> None:
    # R-PROF-30: KU, BC (cA, pathLen 0), CP, SKI, AKI = root SKI.
    not_before, not_after = validity
    fields = build.issuing_ca(
        authority.context, subject, serial, not_before, not_after, subject_key(key)
    )
    expected = Expected(
        subject=subject,
        issuer=authority.name,
        serial=serial,
        not_before=not_before,
        not_after=not_after,
        key=key,
        extensions=[
            (_key_usage(KeyUse.CA), True),
            (x509.BasicConstraints(ca=True, path_length=0), True),
            _policy(authority.context.policy),
            _ski(key),
            _aki(authority),
        ],
    )
    _check(
        encode_tbs(fields),
        expected,
        signer=authority.key,
        issuer_certificate=authority.certificate,
    )


@_FIXED
@given(authorities(), utf8_names, utf8_names, private_keys, serials, validities())
def test_iki(
    authority: Authority,
    common_name: str,
    organisation: str,
    key: ec.EllipticCurvePrivateKey,
    serial: int,
    validity: Validity,
) -> None:
    # R-PROF-33: subject O, CN; KU digitalSignature, SKI, CP, AKI.
    not_before, not_after = validity
    subject = holder_subject(common_name, organisation)
    fields = build.iki(authority.context, subject, serial, not_before, not_after, subject_key(key))
    expected = Expected(
        subject=subject,
        issuer=authority.name,
        serial=serial,
        not_before=not_before,
        not_after=not_after,
        key=key,
        extensions=[
            (_key_usage(KeyUse.DIGITAL_SIGNATURE), True),
            _ski(key),
            _policy(authority.context.policy),
            _aki(authority),
        ],
    )
    _check(
        encode_tbs(fields),
        expected,
        signer=authority.key,
        issuer_certificate=authority.certificate,
    )
