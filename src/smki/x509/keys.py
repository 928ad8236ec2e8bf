"""Subject public keys: SPKI bytes, key identifiers, the P-256 rule (R-PROF-1, R-PROF-2)."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from smki.errors import CsrRefused
from smki.x509 import der
from smki.x509.keyid import key_id_from_point

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey
#: SubjectPublicKeyInfo of a P-256 key up to its 65-octet uncompressed point (R-PROF-1).
P256_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")


def spki_der(key: PublicKey) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def subject_public_key_bits(spki: bytes) -> bytes:
    """The subjectPublicKey BIT STRING contents (without the unused-bits octet)."""
    _, body, _ = der.read_tlv(spki)
    children = der.split_sequence(body)
    return children[1][1][1:]


def key_id_for_spki(spki: bytes) -> bytes:
    """Method (2) key identifier over the subjectPublicKey bits (R-PROF-2)."""
    return key_id_from_point(subject_public_key_bits(spki))


def require_p256(key: object, *, rid: str = "R-PROF-1") -> ec.EllipticCurvePublicKey:
    """SMKI keys are ECDSA P-256; anything else is refused with a precise code."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP256R1):
            return key
        raise CsrRefused(
            f"key is on curve {key.curve.name}; SMKI keys are P-256", code="wrong-curve", rid=rid
        )
    kind = type(key).__name__.removesuffix("PublicKey").removeprefix("_") or "unknown"
    raise CsrRefused(
        f"key type {kind} is not allowed; SMKI keys are EC P-256", code="wrong-key-type", rid=rid
    )
