"""The batch bundle's PEM (R-SI-2) is byte for byte what cryptography writes."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from smki.api.batches import pem_certificate

_KEY = ec.generate_private_key(ec.SECP256R1())


def _certificate(name_length: int) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "n" * name_length)])
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(_KEY.public_key())
        .serial_number(0x10 << 120)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=1))
        .sign(_KEY, hashes.SHA256())
    )


# DER lengths around multiples of 48 octets (one 64-character base64 line).
@pytest.mark.parametrize("name_length", range(1, 50))
def test_pem_certificate_equals_cryptography(name_length: int) -> None:
    certificate = _certificate(name_length)
    der = certificate.public_bytes(Encoding.DER)
    assert pem_certificate(der) == certificate.public_bytes(Encoding.PEM)
    assert x509.load_pem_x509_certificate(pem_certificate(der)) == certificate
