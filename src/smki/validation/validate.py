"""``validate``: may a relying party rely on this certificate? (R-RP-1, R-RP-2, R-RP-3)

A pure function of its inputs: no storage, no network, no clock (``at`` defaults to now). The
checks run in the order that gives the most useful reason (docs/validation.md):

1. ``malformed``: the certificate (or a given chain certificate, anchor or CRL) cannot be read;
2. ``profile-violation``: the certificate breaks its GBCS profile (lint errors, R-PROF-40);
3. ``wrong-device``, ``wrong-usage``: it is not the certificate the caller asked about;
4. ``unknown-issuer``, ``bad-signature``: no path to a trust anchor with good signatures;
5. ``profile-violation`` of a CA certificate on the path;
6. ``not-yet-valid``, ``expired``: any certificate of the path at ``at``;
7. ``ca-revoked``, ``revoked``: listed on a verified CRL/ARL of its issuer;
8. ``suspended``: the caller's suspension check says so (R-GOV-3);
9. ``bad-signature`` (of a list), ``crl-missing``, ``stale-crl``: revocation could not be
   checked as R-RP-1 requires.

Callers that validate many certificates build a :class:`TrustStore` and a
:class:`RevocationLists` once and pass them in; raw DER sequences are accepted too and are
parsed on each call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from smki.errors import MalformedInput
from smki.profiles.kinds import KeyUse
from smki.validation import checks
from smki.validation.certificate import Certificate, parse_certificate
from smki.validation.checks import SuspensionCheck
from smki.validation.crls import RevocationLists
from smki.validation.path import build_path
from smki.validation.revocation import complete, revoked
from smki.validation.trust import TrustStore, parse_numbered
from smki.validation.verdict import CertificateSummary, Reason, Refusal, Verdict


def _utc(at: dt.datetime | None) -> dt.datetime:
    """``at`` as an aware UTC time; a naive time is taken to be UTC (R-X-4 stores UTC)."""
    if at is None:
        return dt.datetime.now(dt.UTC)
    if at.tzinfo is None:
        return at.replace(tzinfo=dt.UTC)
    return at.astimezone(dt.UTC)


def _summaries(
    path: Sequence[Certificate], trust: TrustStore | None
) -> tuple[CertificateSummary, ...]:
    out = []
    for index, cert in enumerate(path):
        if trust is not None and trust.is_anchor(cert):
            role = "trust anchor"
        elif index == 0:
            role = "leaf"
        else:
            role = "intermediate"
        out.append(cert.summary(role))
    return tuple(out)


def _warnings(path: Sequence[Certificate]) -> list[str]:
    return [
        f"profile warning on {cert.label}: {f.lint} [{f.rid}] {f.message}"
        for cert in path
        for f in cert.warnings
    ]


def _anchor_notes(anchor: Certificate) -> list[str]:
    if anchor.self_issued:
        return []
    return [
        f"trust anchor {anchor.label} is not self-signed: it is trusted as given; its own "
        f"signature (by {anchor.issuer_text}) and revocation were not checked"
    ]


def validate(
    certificate: bytes,
    *,
    trust: TrustStore | Sequence[bytes],
    chain: Sequence[bytes] = (),
    crls: RevocationLists | Sequence[bytes] = (),
    at: dt.datetime | None = None,
    expect_device: bytes | None = None,
    expect_usage: KeyUse | None = None,
    require_crls: bool = True,
    suspended: SuspensionCheck | None = None,
    rfc5280: bool = True,
) -> Verdict:
    """The verdict on one DER ``certificate`` at ``at`` (default: now, UTC).

    ``trust``: the trust anchors (a prepared :class:`TrustStore`, or DER certificates).
    ``chain``: extra DER certificates that may complete the path (untrusted).
    ``crls``: the CRLs and ARLs (a prepared :class:`RevocationLists`, or DER lists).
    ``expect_device``: the EUI-64 (8 octets) the SAN hwSerialNum must hold.
    ``expect_usage``: ``KeyUse.DIGITAL_SIGNATURE`` ("ds") or ``KeyUse.KEY_AGREEMENT`` ("ka").
    ``require_crls``: when False, an issuer with no list is a note, not ``crl-missing``.
    ``suspended``: asked with (issuer name DER, serial) for each certificate of the path.
    ``rfc5280``: also run pkilint's RFC 5280 lints on the certificate (the GBCS lints always
    run); a high-volume caller may turn them off for speed (about 2 ms a certificate).

    Never raises for bad input: unreadable bytes give a ``malformed`` verdict. Only an
    exception from ``suspended`` (a store that cannot answer) propagates: nothing fails open.
    """
    when = _utc(at)
    path: list[Certificate] = []
    notes: list[str] = []
    store: TrustStore | None = None

    def refused(reason: Reason, detail: str) -> Verdict:
        return Verdict(False, reason, detail, _summaries(path, store), tuple(notes), when)

    try:
        store = trust if isinstance(trust, TrustStore) else TrustStore.from_der(trust)
        lists = crls if isinstance(crls, RevocationLists) else RevocationLists.from_der(crls)
        try:
            leaf = parse_certificate(certificate, rfc5280=rfc5280)
        except MalformedInput as exc:
            raise MalformedInput(f"certificate: {exc.detail}") from exc
        path.append(leaf)
        checks.profile(leaf)
        if expect_device is not None:
            checks.expected_device(leaf, expect_device)
        if expect_usage is not None:
            checks.expected_usage(leaf, expect_usage)
        extra = parse_numbered("chain certificate", chain, rfc5280=rfc5280)
        build_path(leaf, store, extra, path)
        for cert in path[1:]:
            checks.profile(cert)
        notes += _warnings(path)
        notes += _anchor_notes(path[-1])
        checks.validity(path, when)
        revoked(path, lists)
        if suspended is not None:
            checks.suspension(path, suspended)
        notes += complete(path, lists, when, require_crls)
    except MalformedInput as exc:
        return refused(Reason.MALFORMED, exc.detail)
    except Refusal as refusal:
        return refused(refusal.reason, refusal.detail)
    anchor = path[-1]
    detail = (
        f"{leaf.label} is valid at {when.isoformat()}: {len(path)} certificate(s) to trust "
        f"anchor {anchor.label}"
    )
    return Verdict(True, None, detail, _summaries(path, store), tuple(notes), when)
