"""A certificate as the repository shows it, in GBCS terms (R-REP-2, R-REP-7)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any

from cryptography import x509

from smki.storage.api import CertificateRow, RevocationRow
from smki.x509.eui import format_eui64
from smki.x509.roles import RemotePartyRole
from smki.x509.timeenc import NO_EXPIRY

_KEY_USAGE_NAMES = {
    "ds": "digitalSignature",
    "ka": "keyAgreement",
    "ca": "keyCertSign, cRLSign",
    "tls-server": "digitalSignature (TLS server)",
    "tls-client": "digitalSignature (TLS client)",
}


def derive_status(row: CertificateRow, suspended: bool, now: dt.datetime) -> str:
    """revoked, then suspended, then expired, else in-use (R-REP-2; as the store's filter)."""
    if row.status == "revoked":
        return "revoked"
    if suspended:
        return "suspended"
    if row.not_after < now:
        return "expired"
    return "in-use"


def serial_text(serial: int) -> str:
    return f"{serial:032X}"


@dataclass(frozen=True)
class CertificateView:
    serial: str  # 32 upper-case hex digits
    issuer: str  # the issuing authority's name, e.g. "issuing-oca"
    kind: str
    subject: str  # RFC 4514; empty for a Device Certificate
    eui64: str | None
    role: int | None
    role_name: str | None
    key_usage: str
    key_usage_name: str
    status: str
    not_before: str
    not_after: str | None  # None: a Device Certificate never expires (R-PROF-12)
    issued_at: str
    revoked_at: str | None
    revocation_reason: str | None

    def as_json(self) -> dict[str, Any]:
        # Every field is a str, an int or None: no deep copy needed (asdict's cost, per look-up).
        return {name: getattr(self, name) for name in _VIEW_FIELDS}


_VIEW_FIELDS = tuple(field.name for field in fields(CertificateView))


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def describe(
    row: CertificateRow,
    issuer: str,
    *,
    revocation: RevocationRow | None,
    suspended: bool,
    now: dt.datetime,
) -> CertificateView:
    subject = ""  # a Device Certificate's subject is empty (R-PROF-10): no need to parse it
    if row.kind != "device":
        try:
            subject = x509.load_der_x509_certificate(row.der).subject.rfc4514_string()
        except ValueError:
            subject = ""  # every certificate smki stores was parsed when it was issued
    role = None if row.role is None else RemotePartyRole(row.role)
    return CertificateView(
        serial=serial_text(row.serial),
        issuer=issuer,
        kind=row.kind,
        subject=subject,
        eui64=None if row.subject_eui is None else format_eui64(row.subject_eui),
        role=None if role is None else int(role),
        role_name=None if role is None else role.gbcs_name,
        key_usage=row.key_usage,
        key_usage_name=_KEY_USAGE_NAMES.get(row.key_usage, row.key_usage),
        status=derive_status(row, suspended, now),
        not_before=_iso(row.not_before),
        not_after=None if row.not_after >= NO_EXPIRY else _iso(row.not_after),
        issued_at=_iso(row.created_at),
        revoked_at=None if revocation is None else _iso(revocation.revoked_at),
        revocation_reason=None if revocation is None else revocation.reason,
    )
