"""GBCS extension values against ``cryptography``'s encoding (R-PROF-2, R-PROF-10, R-PROF-11,
R-PROF-21, R-PROF-30, R-PROF-31, R-PROF-34).

Each pre-encoded value in ``smki.profiles.extensions`` must be the exact DER ``Extension``
(extnID, critical, extnValue) that ``CertificateBuilder`` writes for the same
``x509.ExtensionType`` with the same criticality.
"""

from __future__ import annotations

import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from hypothesis import given, settings
from hypothesis import strategies as st

from smki.ids import EntityId
from smki.profiles import extensions as ext
from smki.x509.hwname import HardwareModuleName, read_device_san
from smki.x509.keyid import key_id, key_id_from_point, uncompressed_point
from smki.x509.keys import key_id_for_spki, spki_der
from smki.x509.oids import DEFAULT_CONTINGENCY_KEY_EXTENSION, HARDWARE_MODULE_NAME
from tests.property.reference import reference_extensions
from tests.property.strategies import euis, key_ids, oids, private_keys

_FIXED = settings(max_examples=50, deadline=None)


def _key_usage(*, ds: bool = False, ka: bool = False, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=ds,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=ka,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


@pytest.mark.parametrize(
    ("ours", "theirs", "observed_bits"),
    [
        (ext.KEY_USAGE_DS, _key_usage(ds=True), "03020780"),
        (ext.KEY_USAGE_KA, _key_usage(ka=True), "03020308"),
        (ext.KEY_USAGE_CA, _key_usage(ca=True), "03020106"),
    ],
    ids=["ds", "ka", "ca"],
)
def test_key_usage_values(ours: bytes, theirs: x509.KeyUsage, observed_bits: str) -> None:
    # R-PROF-2, R-PROF-11: keyUsage critical; the bits as observed (OBSERVED.md §A, §C).
    assert [ours] == reference_extensions([(theirs, True)])
    assert ours.endswith(bytes.fromhex("04" + "04" + observed_bits))


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (ext.BASIC_CONSTRAINTS_ROOT, x509.BasicConstraints(ca=True, path_length=None)),
        (ext.BASIC_CONSTRAINTS_ISSUING, x509.BasicConstraints(ca=True, path_length=0)),
    ],
    ids=["root", "issuing"],
)
def test_basic_constraints_values(ours: bytes, theirs: x509.BasicConstraints) -> None:
    # R-PROF-30, R-PROF-31: basicConstraints critical cA=TRUE [pathLen 0].
    assert [ours] == reference_extensions([(theirs, True)])


@_FIXED
@given(key_ids)
def test_subject_key_identifier(identifier: bytes) -> None:
    theirs = reference_extensions([(x509.SubjectKeyIdentifier(identifier), False)])
    assert [ext.subject_key_identifier(identifier)] == theirs


@_FIXED
@given(key_ids)
def test_authority_key_identifier_is_key_identifier_only(identifier: bytes) -> None:
    value = x509.AuthorityKeyIdentifier(identifier, None, None)
    assert [ext.authority_key_identifier(identifier)] == reference_extensions([(value, False)])


@_FIXED
@given(oids())
def test_certificate_policies_one_policy_no_qualifiers(policy: x509.ObjectIdentifier) -> None:
    value = x509.CertificatePolicies([x509.PolicyInformation(policy, None)])
    assert [ext.certificate_policies(policy)] == reference_extensions([(value, True)])


@_FIXED
@given(oids(), euis)
def test_device_subject_alt_name(hw_type: x509.ObjectIdentifier, eui: EntityId) -> None:
    # R-PROF-10: SAN critical, exactly one HardwareModuleName otherName.
    name = HardwareModuleName(hw_type, eui)
    value = x509.SubjectAlternativeName([x509.OtherName(HARDWARE_MODULE_NAME, name.encode())])
    assert [ext.device_subject_alt_name(name)] == reference_extensions([(value, True)])
    assert name.subject_alt_name() == value
    assert HardwareModuleName.decode(name.encode()) == name
    assert read_device_san(value) == name


_DNS_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
_DNS_NAMES = st.lists(_DNS_LABEL, min_size=1, max_size=4).map(".".join)


@_FIXED
@given(
    st.lists(_DNS_NAMES, min_size=1, max_size=3),
    st.sampled_from([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
    st.binary(max_size=200),
    st.booleans(),
)
def test_from_cryptography_passes_values_through(
    dns_names: list[str], purpose: x509.ObjectIdentifier, wrapped: bytes, critical: bool
) -> None:
    # R-PROF-31 (contingency key, non-critical), R-PROF-34 (DCCKI SAN and EKU).
    specs: list[tuple[x509.ExtensionType, bool]] = [
        (x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical),
        (x509.ExtendedKeyUsage([purpose]), critical),
        (x509.UnrecognizedExtension(DEFAULT_CONTINGENCY_KEY_EXTENSION, wrapped), critical),
    ]
    ours = [ext.from_cryptography(value, crit) for value, crit in specs]
    assert ours == reference_extensions(specs)


@_FIXED
@given(private_keys)
def test_key_identifier_is_method_2_of_rfc_5280(key: ec.EllipticCurvePrivateKey) -> None:
    # R-PROF-2: 0100b then the low 60 bits of SHA-1 over the subjectPublicKey bits. The
    # method (1) identifier cryptography computes is that SHA-1 whole.
    public = key.public_key()
    sha1 = x509.SubjectKeyIdentifier.from_public_key(public).digest
    assert sha1 == hashlib.sha1(uncompressed_point(public), usedforsecurity=False).digest()
    expected = bytes([0x40 | (sha1[12] & 0x0F)]) + sha1[13:]
    assert key_id(public) == expected
    assert key_id_for_spki(spki_der(public)) == expected
    assert key_id_from_point(uncompressed_point(public)) == expected
    assert len(expected) == 8
