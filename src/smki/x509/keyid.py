"""Key identifiers (R-PROF-2): RFC 5280 §4.2.1.2 method (2), 8 octets."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def key_id_from_point(subject_public_key: bytes) -> bytes:
    """0100b followed by the low 60 bits of SHA-1 over the subjectPublicKey BIT STRING value."""
    digest = hashlib.sha1(subject_public_key, usedforsecurity=False).digest()
    low = bytearray(digest[-8:])
    low[0] = 0x40 | (low[0] & 0x0F)
    return bytes(low)


def uncompressed_point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def key_id(key: ec.EllipticCurvePublicKey) -> bytes:
    return key_id_from_point(uncompressed_point(key))
