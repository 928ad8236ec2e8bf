"""Version, signature algorithm and key type lints (R-PROF-1).

Every SMKI certificate is X.509 v3 with an ECDSA P-256 key as an uncompressed point and is
signed ecdsa-with-SHA256 with the parameters field absent (RFC 5758). The Z99 "MDR" test
certificates encode a NULL parameter (OBSERVED.md §D, §J3), which cryptography refuses.
"""

from __future__ import annotations

from collections.abc import Iterator

from smki.lint.base import cert_lint
from smki.lint.context import CertContext
from smki.lint.finding import ALL_KINDS, SMKI_KINDS, CertKind
from smki.lint.raw import Tlv, children
from smki.x509 import der
from smki.x509.oids import EC_PUBLIC_KEY, ECDSA_WITH_SHA256, PRIME256V1
from smki.x509.tbs import ECDSA_SHA256_ALGORITHM

_EC_KEY_ALGORITHM_DER = der.sequence(
    der.oid(EC_PUBLIC_KEY.dotted_string), der.oid(PRIME256V1.dotted_string)
)


def algorithm_problems(algorithm: Tlv, where: str) -> Iterator[str]:
    """Why an AlgorithmIdentifier is not ecdsa-with-SHA256 with absent parameters."""
    if algorithm.encoded == ECDSA_SHA256_ALGORITHM:
        return
    parts = children(algorithm.value)
    if not parts or parts[0].tag != der.OID:
        yield f"{where} is not an AlgorithmIdentifier"
        return
    oid = der.decode_oid(parts[0].value)
    if oid != ECDSA_WITH_SHA256.dotted_string:
        yield f"{where} is {oid}, not ecdsa-with-SHA256"
    else:
        params = b"".join(p.encoded for p in parts[1:]).hex().upper()
        yield (
            f"{where} ecdsa-with-SHA256 carries parameters ({params}); "
            "RFC 5758 requires them absent"
        )


@cert_lint("gbcs.version_v3", "R-PROF-1", ALL_KINDS)
def version_v3(ctx: CertContext) -> Iterator[str]:
    if ctx.raw.version != 2:
        yield f"version is v{ctx.raw.version + 1}, not v3"


@cert_lint("gbcs.signature_algorithm", "R-PROF-1", SMKI_KINDS | {CertKind.IKI})
def signature_algorithm(ctx: CertContext) -> Iterator[str]:
    raw = ctx.raw
    problems = list(algorithm_problems(raw.tbs_signature, "tbsCertificate.signature"))
    problems += algorithm_problems(raw.signature_algorithm, "signatureAlgorithm")
    if raw.tbs_signature.encoded != raw.signature_algorithm.encoded:
        problems.append("tbsCertificate.signature and signatureAlgorithm differ")
    if problems and ctx.parse_problem:
        problems[0] += f" ({ctx.parse_problem})"
    yield from problems


@cert_lint("gbcs.key_p256", "R-PROF-1", SMKI_KINDS | {CertKind.IKI})
def key_p256(ctx: CertContext) -> Iterator[str]:
    parts = children(ctx.raw.spki.value)
    if len(parts) != 2 or parts[0].encoded != _EC_KEY_ALGORITHM_DER:
        yield "subjectPublicKeyInfo is not id-ecPublicKey on prime256v1 (named curve)"
        return
    point = ctx.raw.subject_public_key
    if parts[1].value[:1] != b"\x00" or len(point) != 65 or point[0] != 0x04:
        yield "the P-256 public key is not an uncompressed point (04 || X || Y)"
        return
    if ctx.cert is not None:
        try:
            ctx.cert.public_key()
        except ValueError as exc:
            yield f"the public key is not a valid P-256 point: {exc}"


@cert_lint("gbcs.parseable", "R-PROF-40", ALL_KINDS)
def parseable(ctx: CertContext) -> Iterator[str]:
    # A certificate cryptography (and so most relying parties) cannot read is an error. When
    # the cause is ecdsa-with-SHA256 parameters, gbcs.signature_algorithm already names it and
    # the other lints still ran on a normalised copy (see context.parse_leniently).
    raw = ctx.raw
    signature_clean = (
        raw.tbs_signature.encoded == ECDSA_SHA256_ALGORITHM == raw.signature_algorithm.encoded
    )
    if ctx.cert is None:
        yield f"the certificate cannot be parsed: {ctx.parse_problem}"
    elif ctx.parse_problem and signature_clean:
        yield f"the encoding is objected to: {ctx.parse_problem}"
