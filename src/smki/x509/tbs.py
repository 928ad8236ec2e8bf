"""DER encoding of a to-be-signed certificate and of the signed certificate (RFC 5280 §4.1).

One encoder serves every profile: the profile hands over pre-encoded names, key and
extensions, and this module lays them out. Encoding directly (rather than through
``CertificateBuilder``) lets a signer that is not a ``cryptography`` key — an HSM — sign
the exact bytes that were linted (R-CA-4), and is what makes batch issuance fast (R-SI-2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from smki.x509 import der
from smki.x509.oids import ECDSA_WITH_SHA256
from smki.x509.timeenc import encode_time

_VERSION_3 = der.context(0, der.integer(2))
#: AlgorithmIdentifier ecdsa-with-SHA256 with absent parameters (R-PROF-1).
ECDSA_SHA256_ALGORITHM = der.sequence(der.oid(ECDSA_WITH_SHA256.dotted_string))
#: A syntactically valid stand-in signature for the linted pre-certificate.
PLACEHOLDER_SIGNATURE = der.sequence(der.integer(1), der.integer(1))


@dataclass(frozen=True)
class TbsFields:
    """Everything a certificate's TBS holds, each part already DER-encoded."""

    serial: int
    issuer: bytes  # DER Name
    not_before: dt.datetime
    not_after: dt.datetime
    subject: bytes  # DER Name
    spki: bytes  # DER SubjectPublicKeyInfo
    extensions: Sequence[bytes]  # DER Extension each, in profile order


def encode_tbs(fields: TbsFields) -> bytes:
    return der.sequence(
        _VERSION_3,
        der.integer(fields.serial),
        ECDSA_SHA256_ALGORITHM,
        fields.issuer,
        der.sequence(encode_time(fields.not_before), encode_time(fields.not_after)),
        fields.subject,
        fields.spki,
        der.context(3, der.sequence(*fields.extensions)),
    )


def encode_certificate(tbs: bytes, signature: bytes) -> bytes:
    """Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }."""
    return der.sequence(tbs, ECDSA_SHA256_ALGORITHM, der.bit_string(signature))


def precertificate(tbs: bytes) -> bytes:
    """The TBS wrapped with a placeholder signature, so certificate linters can read it."""
    return encode_certificate(tbs, PLACEHOLDER_SIGNATURE)
