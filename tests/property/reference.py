"""The ``cryptography`` side of the byte-identity proofs (R-PROF-1…34, R-REP-5).

Every helper here builds with ``cryptography``'s own ``CertificateBuilder`` and reads the
result back with smki's DER reader, so each property test compares smki's encoder with an
independent one field by field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from smki.x509 import der

#: Any P-256 key signs the reference certificates: the TBS does not depend on it.
REFERENCE_SIGNER = ec.derive_private_key(0xC0FFEE, ec.SECP256R1())

ExtensionSpec = tuple[x509.ExtensionType, bool]


def reference_tbs(
    *,
    subject: x509.Name,
    issuer: x509.Name,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
    public_key: ec.EllipticCurvePublicKey,
    extensions: Sequence[ExtensionSpec],
) -> bytes:
    """``tbs_certificate_bytes`` of the certificate ``cryptography`` builds from these."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .public_key(public_key)
    )
    for value, critical in extensions:
        builder = builder.add_extension(value, critical=critical)
    return builder.sign(REFERENCE_SIGNER, hashes.SHA256()).tbs_certificate_bytes


def reference_extensions(extensions: Sequence[ExtensionSpec]) -> list[bytes]:
    """The DER ``Extension`` elements ``cryptography`` writes for ``extensions``, in order."""
    at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    tbs = reference_tbs(
        subject=x509.Name([]),
        issuer=x509.Name([]),
        serial=1,
        not_before=at,
        not_after=at,
        public_key=REFERENCE_SIGNER.public_key(),
        extensions=extensions,
    )
    return tbs_extensions(tbs)


def tbs_extensions(tbs: bytes) -> list[bytes]:
    """Split a TBSCertificate's ``[3] Extensions`` into whole DER ``Extension`` elements."""
    _, body, _ = der.read_tlv(tbs)
    children = der.split_sequence(body)
    tag, explicit = children[-1]
    assert tag == 0xA3, "the TBS has no [3] extensions"
    _, sequence_body, _ = der.read_tlv(explicit)
    elements: list[bytes] = []
    pos = 0
    while pos < len(sequence_body):
        _, _, end = der.read_tlv(sequence_body, pos)
        elements.append(sequence_body[pos:end])
        pos = end
    return elements
