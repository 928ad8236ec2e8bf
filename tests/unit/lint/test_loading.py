"""load_any / read_documents: PEM or DER, classified by content, precise refusals."""

from __future__ import annotations

import base64

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from smki.errors import MalformedInput
from smki.lint import load_any
from smki.lint.loading import read_documents
from tests.unit.lint import builders as b


def pem(label: str, data: bytes) -> bytes:
    body = base64.encodebytes(data).decode()
    return f"-----BEGIN {label}-----\n{body}-----END {label}-----\n".encode()


def csr() -> bytes:
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]))
        .sign(b.SUBJECT_KEY, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.DER)


def private_key_der() -> bytes:
    return b.SUBJECT_KEY.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b.build("device"), "certificate"),
        (pem("CERTIFICATE", b.build("organisation")), "certificate"),
        (b.crl(), "crl"),
        (pem("X509 CRL", b.crl(revoked=1)), "crl"),
        (csr(), "csr"),
        (pem("CERTIFICATE REQUEST", csr()), "csr"),
    ],
)
def test_load_any_accepts_pem_and_der(data: bytes, kind: str) -> None:
    loaded_kind, der = load_any(data)
    assert loaded_kind == kind
    assert der[0] == 0x30


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"hello world\n", "text without a PEM block"),
        (b"\x02\x01\x00", "neither PEM nor DER"),
        (private_key_der(), "private key"),
        (pem("PRIVATE KEY", private_key_der()), "private key"),
        (
            pem(
                "PUBLIC KEY",
                b.SUBJECT_KEY.public_key().public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                ),
            ),
            "public key",
        ),
        (b.build("device") + b"\x00", "trailing octets"),
        (b.build("device")[:-5], "truncated"),
        (pem("CERTIFICATE", b.build("device")) * 2, "2 PEM blocks"),
        (pem("X509 CRL", b.build("device")), "labelled X509 CRL but holds a certificate"),
        (b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "invalid base64"),
        (b"-----BEGIN CERTIFICATE-----\nMIIB\n", "no complete PEM block"),
        (b"-----BEGIN CERTIFICATE-----\nAA==\n-----END X509 CRL-----\n", "closed by END"),
    ],
)
def test_load_any_refuses_precisely(data: bytes, message: str) -> None:
    with pytest.raises(MalformedInput) as caught:
        load_any(data)
    assert message in caught.value.detail


def test_read_documents_returns_every_pem_block() -> None:
    bundle = pem("CERTIFICATE", b.build("device")) + b"comment\n" + pem("X509 CRL", b.crl())
    assert [d.kind for d in read_documents(bundle)] == ["certificate", "crl"]
