"""Revocation of every certificate on the path, against its issuer's CRL or ARL (R-RP-1).

For each certificate below the trust anchor, the list that counts is the one its issuer
signed: the Issuing CA's CRL for an end-entity, the root's ARL for an Issuing CA
(``smki ca export`` writes them as ``<pki>.crl`` and ``<pki>.arl``). Two passes, so the
refusal is the most useful one:

1. facts: a certificate listed on a verified list of its issuer is ``revoked`` (the
   certificate asked about) or ``ca-revoked`` (a CA above it); this holds even when that
   list is no longer current;
2. completeness: a list that names the issuer but does not verify refuses with
   ``bad-signature``; no list at all refuses with ``crl-missing`` (or becomes a note under
   ``require_crls=False``); lists that exist but are not current at ``at`` refuse with
   ``stale-crl``.

The Device CRL is the exception (R-SI-4 [smki decision]): Device Certificates are never
revoked, so when a Device Certificate's Issuing DCA has no CRL the verdict notes it and goes
on. The Device ARL still applies to the Issuing DCA.

The anchor itself is not checked: it is trusted as configured, and nothing above it is known.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from smki.lint.finding import CertKind
from smki.validation.certificate import Certificate
from smki.validation.crls import RevocationList, RevocationLists
from smki.validation.verdict import Reason, Refusal


def _list_kind(issuer: Certificate) -> str:
    return "ARL" if issuer.self_issued else "CRL"


def _below_anchor(path: Sequence[Certificate]) -> list[tuple[int, Certificate, Certificate]]:
    """(position, certificate, its issuer) from the anchor side down to the leaf."""
    return [(i, path[i], path[i + 1]) for i in range(len(path) - 2, -1, -1)]


def revoked(path: Sequence[Certificate], lists: RevocationLists) -> None:
    """Pass 1: refuse when a verified list of an issuer on the path lists its subordinate."""
    for index, cert, issuer in _below_anchor(path):
        for item in lists.issued_by(issuer).verified:
            when = item.revoked.get(cert.serial)
            if when is None:
                continue
            reason = item.reason_for(cert.serial)
            because = f", reason {reason}" if reason else ""
            on_list = (
                f"is on the {_list_kind(issuer)} of {issuer.label}"
                f"{f' (number {item.number})' if item.number is not None else ''}, "
                f"revoked {when.isoformat()}{because}"
            )
            if index == 0:
                raise Refusal(Reason.REVOKED, f"{cert.label} {on_list}")
            raise Refusal(
                Reason.CA_REVOKED,
                f"{cert.label}, which issued {path[index - 1].label}, {on_list}",
            )


def _stale(item: RevocationList, kind: str, at: dt.datetime) -> str:
    label = item.label(kind)
    if item.next_update is None:
        return f"{label} has no nextUpdate, so it is never current"
    if at < item.this_update:
        return (
            f"{label} was issued at {item.this_update.isoformat()}, after the time "
            f"checked ({at.isoformat()})"
        )
    return (
        f"{label} expired at its nextUpdate {item.next_update.isoformat()} "
        f"(checked at {at.isoformat()})"
    )


def complete(
    path: Sequence[Certificate], lists: RevocationLists, at: dt.datetime, require_crls: bool
) -> list[str]:
    """Pass 2: every issuer's list is present, genuine and current. Returns the notes for
    what was accepted unchecked."""
    notes: list[str] = []
    for index, cert, issuer in _below_anchor(path):
        kind = _list_kind(issuer)
        found = lists.issued_by(issuer)
        if not found.verified and found.forged:
            raise Refusal(
                Reason.BAD_SIGNATURE,
                f"{found.forged[0].label(kind)} names {issuer.label} as its issuer, but its "
                "signature does not verify with that CA's key",
            )
        if not found.verified:
            if index == 0 and cert.kind is CertKind.DEVICE:
                notes.append(
                    f"no Device CRL from {issuer.label}: Device Certificates are not revoked "
                    f"(R-SI-4), so {cert.label} was not checked against one"
                )
            elif require_crls:
                raise Refusal(
                    Reason.CRL_MISSING,
                    f"no {kind} from {issuer.label} was given: the revocation of "
                    f"{cert.label} cannot be checked",
                )
            else:
                notes.append(
                    f"no revocation list ({kind}) from {issuer.label}: revocation of "
                    f"{cert.label} was not checked"
                )
            continue
        if not issuer.may_sign_crls:
            raise Refusal(
                Reason.CRL_MISSING,
                f"{issuer.label} has no cRLSign key usage, so its {kind} cannot be relied on",
            )
        if not any(item.current_at(at) for item in found.verified):
            newest = max(found.verified, key=lambda item: item.this_update)
            raise Refusal(Reason.STALE_CRL, _stale(newest, kind, at))
    return notes
