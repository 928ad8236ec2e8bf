"""Throwaway certificates and CRLs for the lint unit tests, built with cryptography.

``spec(kind)`` gives a conforming profile as editable data; ``issue`` signs it; ``rebuild``
re-signs a certificate after a raw-DER edit of its TBS fields, for encodings cryptography's
builder will not produce (GeneralizedTime before 2050, NULL signature parameters, v2 …).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from smki.ids import EntityId
from smki.lint.raw import children, parse_certificate, parse_crl, read_one
from smki.x509 import der
from smki.x509.hwname import HardwareModuleName
from smki.x509.keyid import key_id
from smki.x509.names import ca_subject, holder_subject, organisation_subject
from smki.x509.oids import (
    DEFAULT_CONTINGENCY_KEY_EXTENSION,
    DEFAULT_DEVICE_HW_TYPE,
    OBSERVED_ORGANISATION_POLICY,
)
from smki.x509.roles import RemotePartyRole

# Fixed throwaway keys: generating P-256 keys is cheap, but fixed ones keep failures stable
# within a run and let tests compare key identifiers.
SUBJECT_KEY = ec.generate_private_key(ec.SECP256R1())
ISSUER_KEY = ec.generate_private_key(ec.SECP256R1())
EUI = EntityId(bytes.fromhex("90B3D51F30010000"))
DEVICE_EUI = EntityId(bytes.fromhex("00DB123456789001"))
SERIAL = int.from_bytes(bytes([0x42]) + bytes(range(1, 16)), "big")
NOT_BEFORE = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
NO_EXPIRY = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
ECDSA_SHA256_NULL = bytes.fromhex("300c06082a8648ce3d0403020500")

Extensions = list[tuple[x509.ExtensionType, bool]]


def key_usage(*bits: str) -> x509.KeyUsage:
    names = (
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    )
    return x509.KeyUsage(**{name: name in bits for name in names})


def policies(*oids: x509.ObjectIdentifier) -> x509.CertificatePolicies:
    return x509.CertificatePolicies([x509.PolicyInformation(oid, None) for oid in oids])


def ski(key: ec.EllipticCurvePrivateKey) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier(key_id(key.public_key()))


def aki(key: ec.EllipticCurvePrivateKey) -> x509.AuthorityKeyIdentifier:
    return x509.AuthorityKeyIdentifier(key_id(key.public_key()), None, None)


def device_san(serial: bytes = DEVICE_EUI) -> x509.SubjectAlternativeName:
    return HardwareModuleName(DEFAULT_DEVICE_HW_TYPE, EntityId(serial)).subject_alt_name()


ISSUER_NAME = ca_subject(RemotePartyRole.ISSUING_AUTHORITY, "Z1")
ROOT_NAME = ca_subject(RemotePartyRole.ROOT, "ZA")


@dataclass(frozen=True)
class Spec:
    subject: x509.Name
    issuer: x509.Name
    extensions: Extensions
    serial: int = SERIAL
    not_before: dt.datetime = NOT_BEFORE
    not_after: dt.datetime = dt.datetime(2035, 8, 31, 23, 59, 59, tzinfo=dt.UTC)
    key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey = SUBJECT_KEY
    signer: ec.EllipticCurvePrivateKey = ISSUER_KEY

    def with_extensions(self, extensions: Extensions) -> Spec:
        return replace(self, extensions=extensions)

    def replace_extension(self, new: x509.ExtensionType, critical: bool | None = None) -> Spec:
        out: Extensions = []
        for value, crit in self.extensions:
            if value.oid == new.oid:
                out.append((new, crit if critical is None else critical))
            else:
                out.append((value, crit))
        return self.with_extensions(out)

    def drop_extension(self, oid: x509.ObjectIdentifier) -> Spec:
        return self.with_extensions([(v, c) for v, c in self.extensions if v.oid != oid])

    def add_extension(self, value: x509.ExtensionType, critical: bool = False) -> Spec:
        return self.with_extensions([*self.extensions, (value, critical)])


def spec(kind: str) -> Spec:
    """A conforming certificate of ``kind`` as editable data."""
    if kind == "device":
        return Spec(
            subject=x509.Name([]),
            issuer=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "E357")]),
            extensions=[
                (key_usage("digital_signature"), True),
                (ski(SUBJECT_KEY), False),
                (device_san(), True),
                (policies(OBSERVED_ORGANISATION_POLICY), True),
                (aki(ISSUER_KEY), False),
            ],
            not_after=NO_EXPIRY,
        )
    if kind == "organisation":
        return Spec(
            subject=organisation_subject(RemotePartyRole.SUPPLIER, EUI, "GITTESTSUPPLIER"),
            issuer=ISSUER_NAME,
            extensions=[
                (key_usage("key_agreement"), True),
                (ski(SUBJECT_KEY), False),
                (policies(OBSERVED_ORGANISATION_POLICY), True),
                (aki(ISSUER_KEY), False),
            ],
        )
    if kind == "issuing-ca":
        return Spec(
            subject=ISSUER_NAME,
            issuer=ROOT_NAME,
            extensions=[
                (key_usage("key_cert_sign", "crl_sign"), True),
                (x509.BasicConstraints(ca=True, path_length=0), True),
                (policies(OBSERVED_ORGANISATION_POLICY), True),
                (ski(SUBJECT_KEY), False),
                (aki(ISSUER_KEY), False),
            ],
            not_after=dt.datetime(2049, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
        )
    if kind == "root-ca":
        return Spec(
            subject=ROOT_NAME,
            issuer=ROOT_NAME,
            extensions=[
                (key_usage("key_cert_sign", "crl_sign"), True),
                (x509.BasicConstraints(ca=True, path_length=None), True),
                (policies(OBSERVED_ORGANISATION_POLICY), True),
                (ski(SUBJECT_KEY), False),
                (x509.UnrecognizedExtension(DEFAULT_CONTINGENCY_KEY_EXTENSION, b"\x04\x00"), False),
            ],
            not_after=dt.datetime(2060, 1, 1, tzinfo=dt.UTC),
            signer=SUBJECT_KEY,
        )
    raise ValueError(kind)


def iki_spec() -> Spec:
    return Spec(
        subject=holder_subject("Alice Example", "Example Energy Ltd"),
        issuer=ISSUER_NAME,
        extensions=[
            (key_usage("digital_signature"), True),
            (ski(SUBJECT_KEY), False),
            (aki(ISSUER_KEY), False),
        ],
    )


def dccki_spec() -> Spec:
    return Spec(
        subject=holder_subject("gateway.example.org", "Example DCC User"),
        issuer=ISSUER_NAME,
        extensions=[
            (key_usage("digital_signature"), True),
            (x509.SubjectAlternativeName([x509.DNSName("gateway.example.org")]), False),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
            (ski(SUBJECT_KEY), False),
            (aki(ISSUER_KEY), False),
        ],
        not_after=NOT_BEFORE + dt.timedelta(days=365),
    )


def issue(s: Spec) -> bytes:
    public = s.key.public_key() if isinstance(s.key, ec.EllipticCurvePrivateKey) else s.key
    builder = (
        x509.CertificateBuilder()
        .subject_name(s.subject)
        .issuer_name(s.issuer)
        .public_key(public)
        .serial_number(s.serial)
        .not_valid_before(s.not_before)
        .not_valid_after(s.not_after)
    )
    for value, critical in s.extensions:
        builder = builder.add_extension(value, critical)
    return builder.sign(s.signer, hashes.SHA256()).public_bytes(Encoding.DER)


def build(kind: str) -> bytes:
    return issue(spec(kind))


# TBS field positions in a v3 certificate.
VERSION, SERIAL_FIELD, SIGNATURE, ISSUER, VALIDITY, SUBJECT, SPKI, EXTENSIONS = range(8)


def rebuild(
    certificate: bytes,
    edit: Callable[[list[bytes]], list[bytes]],
    *,
    algorithm: bytes | None = None,
    signer: ec.EllipticCurvePrivateKey = ISSUER_KEY,
) -> bytes:
    """Re-sign ``certificate`` after ``edit`` rewrote its TBS fields (full encodings)."""
    raw = parse_certificate(certificate)
    fields = edit([c.encoded for c in children(raw.tbs.value)])
    tbs = der.tlv(der.SEQUENCE, b"".join(fields))
    signature = signer.sign(tbs, ec.ECDSA(hashes.SHA256()))
    outer_algorithm = algorithm if algorithm is not None else raw.signature_algorithm.encoded
    return der.sequence(tbs, outer_algorithm, der.bit_string(signature))


def validity(not_before: bytes, not_after: bytes) -> Callable[[list[bytes]], list[bytes]]:
    """An edit replacing the validity with two encoded Times."""

    def edit(fields: list[bytes]) -> list[bytes]:
        fields[VALIDITY] = der.sequence(not_before, not_after)
        return fields

    return edit


def utc(text: str) -> bytes:
    return der.tlv(der.UTC_TIME, text.encode())


def generalized(text: str) -> bytes:
    return der.tlv(der.GENERALIZED_TIME, text.encode())


def name_der(*rdns: tuple[str, int, bytes]) -> bytes:
    """A Name with one attribute per RDN: (OID, value tag, value contents)."""
    return der.sequence(
        *(der.tlv(der.SET, der.sequence(der.oid(o), der.tlv(t, v))) for o, t, v in rdns)
    )


def crl(
    *,
    number: int | None = 1,
    with_aki: bool = True,
    revoked: int = 0,
    signer: ec.EllipticCurvePrivateKey = ISSUER_KEY,
) -> bytes:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ISSUER_NAME)
        .last_update(NOT_BEFORE)
        .next_update(NOT_BEFORE + dt.timedelta(days=7))
    )
    if number is not None:
        builder = builder.add_extension(x509.CRLNumber(number), False)
    if with_aki:
        builder = builder.add_extension(aki(signer), False)
    for index in range(revoked):
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(SERIAL + index)
            .revocation_date(NOT_BEFORE)
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    return builder.sign(signer, hashes.SHA256()).public_bytes(Encoding.DER)


def rebuild_crl(
    crl_der: bytes,
    edit: Callable[[list[bytes]], list[bytes]],
    *,
    algorithm: bytes | None = None,
    signer: ec.EllipticCurvePrivateKey = ISSUER_KEY,
) -> bytes:
    """Re-sign a CRL after ``edit`` rewrote its tbsCertList fields."""
    parse_crl(crl_der)  # must be one to start with
    outer = children(read_one(crl_der, "CRL").value)
    fields = edit([c.encoded for c in children(outer[0].value)])
    tbs = der.tlv(der.SEQUENCE, b"".join(fields))
    signature = signer.sign(tbs, ec.ECDSA(hashes.SHA256()))
    outer_algorithm = algorithm if algorithm is not None else outer[1].encoded
    return der.sequence(tbs, outer_algorithm, der.bit_string(signature))
