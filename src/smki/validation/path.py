"""Building the path leaf → intermediates → trust anchor, signatures checked (R-RP-1, R-RP-2).

Issuers are found by name (the issuer DER equals the candidate's subject DER, byte for byte)
and key identifier (the authorityKeyIdentifier names one of the candidate's key ids). Among
the candidates, anchors come first; the first whose key verifies the signature and that may
sign certificates (cA TRUE, keyCertSign) is taken. The refusal says what went wrong: no
certificate of that name at all (unknown-issuer), one that is not a CA or whose key
identifier differs (unknown-issuer, with the reason), or one whose key does not verify the
signature (bad-signature).
"""

from __future__ import annotations

from collections.abc import Sequence

from smki.validation.certificate import Certificate
from smki.validation.trust import TrustStore
from smki.validation.verdict import Reason, Refusal

#: SMKI hierarchies are two deep (R-CA-1); this bound only stops a pathological chain.
MAX_PATH_LENGTH = 8


def _key_matches(child: Certificate, issuer: Certificate) -> bool:
    return child.authority_key_id is None or child.authority_key_id in issuer.key_ids


def _unknown_issuer(child: Certificate, trust: TrustStore, why: str) -> Refusal:
    aki = (
        f" (authority key id {child.authority_key_id.hex().upper()})"
        if child.authority_key_id
        else ""
    )
    detail = f"the issuer {child.issuer_text}{aki} of {child.label} {why}"
    copies = trust.anchors_with_tbs(child)
    if copies:
        detail += (
            f"; it is a copy of trust anchor {copies[0].label} with a different signature, "
            "which is not the anchor"
        )
    return Refusal(Reason.UNKNOWN_ISSUER, detail)


def _issuer_of(child: Certificate, trust: TrustStore, chain: Sequence[Certificate]) -> Certificate:
    named = [c for c in trust.named(child.issuer_der, chain) if c.der != child.der]
    if not named:
        raise _unknown_issuer(child, trust, "is neither a trust anchor nor in the chain")
    keyed = [c for c in named if _key_matches(child, c)]
    if not keyed:
        ids = ", ".join(c.computed_key_id.hex().upper() for c in named)
        raise _unknown_issuer(
            child, trust, f"was found by name, but with another key (key id {ids})"
        )
    signers = [c for c in keyed if c.may_sign_certificates]
    if not signers:
        raise _unknown_issuer(
            child,
            trust,
            f"is {keyed[0].label}, which is not a CA (basicConstraints cA and keyCertSign)",
        )
    for candidate in signers:
        if trust.verifies(child, candidate):
            return candidate
    raise Refusal(
        Reason.BAD_SIGNATURE,
        f"the signature of {child.label} does not verify with the key of its issuer "
        f"{signers[0].label}",
    )


def _check_path_lengths(path: Sequence[Certificate]) -> None:
    """pathLenConstraint (RFC 5280 §4.2.1.9): the Issuing CAs carry 0 (R-PROF-30)."""
    for index, ca in enumerate(path[1:], start=1):
        if ca.path_length is None:
            continue
        below = sum(1 for c in path[1:index] if not c.self_issued)
        if below > ca.path_length:
            raise Refusal(
                Reason.UNKNOWN_ISSUER,
                f"{ca.label} has pathLenConstraint {ca.path_length} but {below} CA "
                "certificate(s) below it on the path: it may not issue them",
            )


def build_path(
    leaf: Certificate,
    trust: TrustStore,
    chain: Sequence[Certificate],
    found: list[Certificate],
) -> None:
    """Extend ``found`` (which holds ``leaf``) up to a trust anchor, or raise a Refusal with
    ``found`` holding the part that could be built."""
    current = leaf
    while not trust.is_anchor(current):
        if len(found) >= MAX_PATH_LENGTH:
            raise Refusal(
                Reason.UNKNOWN_ISSUER,
                f"no trust anchor within {MAX_PATH_LENGTH} certificates of {leaf.label}",
            )
        issuer = _issuer_of(current, trust, chain)
        if any(c.der == issuer.der for c in found):
            raise Refusal(Reason.UNKNOWN_ISSUER, f"the chain loops back to {issuer.label}")
        found.append(issuer)
        current = issuer
    if trust.self_signature_ok(trust.anchor(current)) is False:
        raise Refusal(
            Reason.BAD_SIGNATURE,
            f"trust anchor {current.label} is self-signed but its signature does not verify "
            "with its own key",
        )
    _check_path_lengths(found)
