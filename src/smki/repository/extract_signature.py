"""The signature of a repository extract: ``manifest.jws`` (R-REP-6, R-PROF-33).

A compact JWS (RFC 7515), ES256 only, whose payload is the exact bytes of ``manifest.json``
and whose header is ``{"alg": "ES256", "typ": "smki-extract+jws", "x5c": [file-signing
certificate, Issuing ICA certificate]}``. It is made with the repository's file-signing key
in the key store (``repository.file_signing``), never with a key held in memory.

A relying party checks it against IKI trust anchors it already holds (the IKI Root, or the
Issuing ICA itself): the signer's path to an anchor (names, CA flags, signatures, validity
at ``now``), the signer's keyUsage (digitalSignature), and that the signer is the file-signing
credential (O=DCC, CN=SMKI Repository file signing) rather than any other IKI holder, such as
an ARO. Every refusal is an IntegrityError with its own code.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from smki.errors import IntegrityError
from smki.iki import jws
from smki.repository.file_signing import COMMON_NAME, ORGANISATION, FileSigner

ALGORITHM: Final = "ES256"
TYPE: Final = "smki-extract+jws"
_HEADER_KEYS: Final = frozenset({"alg", "typ", "x5c"})
_MAX_CHAIN: Final = 4
_COORDINATE: Final = 32


def refused(code: str, detail: str) -> IntegrityError:
    return IntegrityError(detail, code=code, rid="R-REP-6")


def sign_manifest(signer: FileSigner, manifest: bytes) -> str:
    """The compact JWS over ``manifest`` with the file-signing key."""
    header = {
        "alg": ALGORITHM,
        "typ": TYPE,
        "x5c": [jws.b64_der_encode(signer.certificate), jws.b64_der_encode(signer.ica)],
    }
    header_b64, payload_b64 = jws.json_segment(header), jws.b64url_encode(manifest)
    # The Signer gives a DER Ecdsa-Sig-Value; JWS wants the raw r || s (RFC 7518 §3.4).
    r, s = decode_dss_signature(signer.signer.sign(jws.signing_input(header_b64, payload_b64)))
    raw = r.to_bytes(_COORDINATE, "big") + s.to_bytes(_COORDINATE, "big")
    return f"{header_b64}.{payload_b64}.{jws.b64url_encode(raw)}"


def _parts(token: str) -> tuple[dict[str, object], bytes, bytes, bytes]:
    pieces = token.strip().split(".")
    if len(pieces) != 3:
        raise refused("extract-bad-signature", "manifest.jws is not a compact JWS")
    try:
        header = json.loads(jws.b64url_decode(pieces[0]))
        payload = jws.b64url_decode(pieces[1])
        signature = jws.b64url_decode(pieces[2])
    except ValueError:
        raise refused("extract-bad-signature", "manifest.jws is not a compact JWS") from None
    if not isinstance(header, dict):
        raise refused("extract-bad-signature", "the JWS header is not a JSON object")
    return header, payload, signature, jws.signing_input(pieces[0], pieces[1])


def _chain(header: dict[str, object]) -> list[x509.Certificate]:
    if set(header) != _HEADER_KEYS or header["alg"] != ALGORITHM or header["typ"] != TYPE:
        raise refused(
            "extract-bad-signature",
            f'the JWS header is exactly "alg": "{ALGORITHM}", "typ": "{TYPE}" and "x5c"',
        )
    entries = header["x5c"]
    if not isinstance(entries, list) or not 1 <= len(entries) <= _MAX_CHAIN:
        raise refused("extract-bad-signature", "x5c is a list of 1 to 4 certificates")
    try:
        return [x509.load_der_x509_certificate(jws.b64_der_decode(str(e))) for e in entries]
    except ValueError:
        raise refused("extract-bad-signature", "an x5c entry is not a DER certificate") from None


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    except x509.ExtensionNotFound:
        return False
    return constraints.value.ca and usage.value.key_cert_sign


def _issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    if not _is_ca(issuer):
        return False
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _path_to_anchor(
    chain: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate]
) -> list[x509.Certificate]:
    """leaf → … → an anchor, from the x5c intermediates; refused if there is none."""
    path = [chain[0]]
    for _ in range(_MAX_CHAIN):
        current = path[-1]
        # An anchor may be the IKI Root or the Issuing ICA itself.
        for anchor in anchors:
            if _issued_by(current, anchor):
                return [*path, anchor]
        following = [c for c in chain[1:] if c not in path and _issued_by(current, c)]
        if not following:
            break
        path.append(following[0])
    raise refused(
        "extract-untrusted",
        f"the signer {chain[0].subject.rfc4514_string()} does not chain to a given trust anchor",
    )


def _check_signer(
    signer: x509.Certificate, path: Sequence[x509.Certificate], now: dt.datetime
) -> None:
    try:
        usage = signer.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is None or not usage.digital_signature or usage.key_cert_sign:
        raise refused(
            "extract-signer-usage",
            "the signer's keyUsage is not digitalSignature: it may not sign files",
        )
    organisations = signer.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    names = signer.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if [a.value for a in organisations] != [ORGANISATION] or [a.value for a in names] != [
        COMMON_NAME
    ]:
        raise refused(
            "extract-signer-not-file-signing",
            f"the signer {signer.subject.rfc4514_string()[:120]} is not the repository's "
            f"file-signing credential (O={ORGANISATION}, CN={COMMON_NAME})",
        )
    for certificate in path:
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise refused(
                "extract-signer-expired",
                f"{certificate.subject.rfc4514_string()[:120]} is not valid at {now.isoformat()}",
            )


def verify_manifest_signature(
    token: str, anchors: Sequence[x509.Certificate], now: dt.datetime
) -> tuple[bytes, x509.Certificate]:
    """The signed manifest bytes and the signer's certificate, or IntegrityError."""
    header, payload, signature, signed = _parts(token)
    chain = _chain(header)
    path = _path_to_anchor(chain, anchors)
    _check_signer(chain[0], path, now)
    key = chain[0].public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or not jws.verify_es256(
        key, signed, signature
    ):
        raise refused("extract-bad-signature", "the manifest signature does not verify")
    return payload, chain[0]
