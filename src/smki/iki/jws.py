"""Compact JWS with ES256 only (RFC 7515, RFC 7518 §3.4), for the ARO tokens of R-IKI-1.

Only what the Service Interface token needs: strict base64url without padding, the
``header.payload.signature`` layout, and ECDSA P-256/SHA-256 with the 64-octet raw ``r || s``
signature. No algorithm is chosen from the token: the caller decides that it is ES256.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

#: Octets of one P-256 coordinate; the raw signature is two of them (RFC 7518 §3.4).
_COORDINATE = 32
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict inverse of :func:`b64url_encode`; ``ValueError`` for anything else.

    Padding, characters outside the URL-safe alphabet and non-canonical trailing bits are all
    refused, so that one byte string has exactly one encoding.
    """
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url without padding")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("not base64url without padding") from exc
    if b64url_encode(data) != text:
        raise ValueError("non-canonical base64url")
    return data


def b64_der_encode(der: bytes) -> str:
    """Standard base64 with padding, as an ``x5c`` entry (RFC 7515 §4.1.6)."""
    return base64.b64encode(der).decode("ascii")


def b64_der_decode(text: str) -> bytes:
    """Strict inverse of :func:`b64_der_encode`; ``ValueError`` for anything else."""
    try:
        data = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError("not standard base64") from exc
    if base64.b64encode(data).decode("ascii") != text:
        raise ValueError("non-canonical base64")
    return data


def json_segment(value: Mapping[str, object]) -> str:
    """Compact, ASCII-only JSON of ``value``, base64url encoded."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return b64url_encode(text.encode("ascii"))


def signing_input(header_b64: str, payload_b64: str) -> bytes:
    """The octets that are signed: ASCII ``header_b64 "." payload_b64`` (RFC 7515 §5.1)."""
    return f"{header_b64}.{payload_b64}".encode("ascii")


def sign_es256(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """ES256 signature of ``data`` as the raw 64-octet ``r || s``."""
    if not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("ES256 needs a P-256 key")
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(_COORDINATE, "big") + s.to_bytes(_COORDINATE, "big")


def verify_es256(key: ec.EllipticCurvePublicKey, data: bytes, signature: bytes) -> bool:
    """True if ``signature`` (raw ``r || s``) is a valid ES256 signature of ``data``."""
    if not isinstance(key.curve, ec.SECP256R1) or len(signature) != 2 * _COORDINATE:
        return False
    r = int.from_bytes(signature[:_COORDINATE], "big")
    s = int.from_bytes(signature[_COORDINATE:], "big")
    try:
        key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def encode_es256(
    header: Mapping[str, object], payload: Mapping[str, object], key: ec.EllipticCurvePrivateKey
) -> str:
    """A compact JWS of ``header`` and ``payload`` signed with ``key`` (the header is taken as
    given: the caller puts ``"alg": "ES256"`` in it)."""
    header_b64, payload_b64 = json_segment(header), json_segment(payload)
    signature = sign_es256(key, signing_input(header_b64, payload_b64))
    return f"{header_b64}.{payload_b64}.{b64url_encode(signature)}"
