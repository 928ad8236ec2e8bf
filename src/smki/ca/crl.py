"""CRLs and ARLs (R-REP-5): full v2 lists with CRL number, AKI, thisUpdate and nextUpdate.

The TBS is encoded directly (one pass, shared encodings: a million entries in seconds) so that
a ``Signer`` that is not a ``cryptography`` key (an HSM) can sign it; the signed list is then
parsed and checked like a certificate. ``tests/property`` proves the encoding byte-identical
to ``CertificateRevocationListBuilder``'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from smki.ca.issuer import SigningAuthority
from smki.clock import Clock
from smki.errors import InputError, IntegrityError
from smki.keystore.base import Signer
from smki.profiles.build import IssuerContext
from smki.profiles.extensions import extension
from smki.storage.api import AuthorityRow, Transaction
from smki.x509 import der
from smki.x509.tbs import ECDSA_SHA256_ALGORITHM
from smki.x509.timeenc import encode_time, truncate

#: RFC 5280 reason names accepted for revocation (R-SI-4).
REASONS: dict[str, x509.ReasonFlags] = {
    "keyCompromise": x509.ReasonFlags.key_compromise,
    "cACompromise": x509.ReasonFlags.ca_compromise,
    "affiliationChanged": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessationOfOperation": x509.ReasonFlags.cessation_of_operation,
}


def parse_reason(text: str) -> str:
    if text not in REASONS:
        raise InputError(
            f"unknown revocation reason {text!r}; use one of {', '.join(REASONS)}",
            code="bad-reason",
            rid="R-SI-4",
        )
    return text


@dataclass(frozen=True)
class Revoked:
    serial: int
    revoked_at: dt.datetime
    reason: str


@dataclass(frozen=True)
class CrlRequest:
    issuer_name: bytes  # DER, byte-identical to the issuer certificate's subject
    issuer_key_id: bytes
    number: int
    this_update: dt.datetime
    next_update: dt.datetime
    entries: Sequence[Revoked]


_VERSION_2 = der.integer(1)


def _reason_extensions(reason: str) -> bytes:
    value = x509.CRLReason(REASONS[reason]).public_bytes()
    return der.sequence(extension(x509.CRLReason.oid, False, value))


_ENTRY_EXTENSIONS = {name: _reason_extensions(name) for name in REASONS}


def _entries(entries: Sequence[Revoked]) -> bytes:
    """The revokedCertificates SEQUENCE, encoded directly: at a million entries this is the
    hot loop, so the time and reason encodings are shared between entries."""
    times: dict[dt.datetime, bytes] = {}
    parts = []
    for entry in entries:
        when = times.get(entry.revoked_at)
        if when is None:
            when = times[entry.revoked_at] = encode_time(entry.revoked_at)
        parts.append(der.sequence(der.integer(entry.serial), when, _ENTRY_EXTENSIONS[entry.reason]))
    return der.sequence(*parts)


def build_crl_tbs(request: CrlRequest) -> bytes:
    """TBSCertList, v2, with AKI then cRLNumber (RFC 5280 §5.1.2)."""
    crl_extensions = der.sequence(
        extension(
            x509.AuthorityKeyIdentifier.oid,
            False,
            x509.AuthorityKeyIdentifier(request.issuer_key_id, None, None).public_bytes(),
        ),
        extension(x509.CRLNumber.oid, False, x509.CRLNumber(request.number).public_bytes()),
    )
    parts = [
        _VERSION_2,
        ECDSA_SHA256_ALGORITHM,
        request.issuer_name,
        encode_time(request.this_update),
        encode_time(request.next_update),
    ]
    if request.entries:
        parts.append(_entries(request.entries))
    parts.append(der.context(0, crl_extensions))
    return der.sequence(*parts)


def sign_crl(signer: Signer, issuer_key: ec.EllipticCurvePublicKey, request: CrlRequest) -> bytes:
    tbs = build_crl_tbs(request)
    signature = signer.sign(tbs)
    crl_der = der.sequence(tbs, ECDSA_SHA256_ALGORITHM, der.bit_string(signature))
    parsed = x509.load_der_x509_crl(crl_der)
    if parsed.tbs_certlist_bytes != tbs:
        raise IntegrityError("the signed CRL differs from its TBS", rid="R-REP-5")
    try:
        issuer_key.verify(parsed.signature, tbs, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise IntegrityError(
            "the CRL signature does not verify with the CA key", rid="R-REP-5"
        ) from exc
    return crl_der


def list_kind_of(authority: AuthorityRow) -> str:
    """A root publishes an ARL (its revoked CA certificates), an issuing CA a CRL (R-REP-5)."""
    return "arl" if authority.is_root else "crl"


def publish_crl(
    tx: Transaction,
    clock: Clock,
    period: dt.timedelta,
    authority: SigningAuthority,
    context: IssuerContext,
    list_kind: str,
    actor: str,
    number: int | None = None,
) -> int:
    """Issue the next full CRL (issuing CA) or ARL (root) of ``authority`` and store it, with
    its audit event, in ``tx``. Returns the CRL number (R-REP-5).

    ``number``: the number the caller found free; a concurrent writer that took it meanwhile
    makes the store refuse this list (Conflict) rather than both lists being issued."""
    if number is None:
        number = tx.next_crl_number(authority.authority_id, list_kind)
    now = truncate(clock.now())
    entries = [
        Revoked(e.serial, truncate(e.revoked_at), e.reason)
        for e in tx.revoked_entries(authority.authority_id, None)
    ]
    request = CrlRequest(context.name, context.key_id, number, now, now + period, entries)
    crl_der = sign_crl(authority.signer, authority.public_key, request)
    tx.add_crl(authority.authority_id, list_kind, number, now, now + period, crl_der)
    tx.audit(
        actor,
        f"{list_kind}.issued",
        f"authority:{authority.name}",
        {"number": number, "entries": len(entries), "next_update": (now + period).isoformat()},
    )
    return number
