"""Signing a TBS and checking the result before anyone sees it (R-CA-4)."""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from smki.errors import IntegrityError
from smki.keystore.base import Signer
from smki.x509.tbs import encode_certificate

_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def sign_certificate(signer: Signer, issuer_key: ec.EllipticCurvePublicKey, tbs: bytes) -> bytes:
    """Sign ``tbs``, assemble the certificate and prove that it parses, that its TBS is
    byte-identical to the linted one, and that the signature verifies with the CA's key."""
    signature = signer.sign(tbs)
    certificate = encode_certificate(tbs, signature)
    check_signed(certificate, tbs, issuer_key)
    return certificate


def check_signed(certificate: bytes, tbs: bytes, issuer_key: ec.EllipticCurvePublicKey) -> None:
    try:
        parsed = x509.load_der_x509_certificate(certificate)
    except ValueError as exc:
        raise IntegrityError("the signed certificate does not parse", rid="R-CA-4") from exc
    if parsed.tbs_certificate_bytes != tbs:
        raise IntegrityError("the signed TBS differs from the linted TBS", rid="R-CA-4")
    try:
        issuer_key.verify(parsed.signature, tbs, _ECDSA_SHA256)
    except InvalidSignature as exc:
        raise IntegrityError(
            "the signature does not verify with the CA's public key; wrong key in the key store?",
            rid="R-CA-4",
        ) from exc
