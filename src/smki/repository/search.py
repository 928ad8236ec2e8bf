"""Repository searches from untrusted text (R-REP-2): parsed whole, refused precisely."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from smki.ca.serials import parse_serial_hex
from smki.errors import InputError
from smki.profiles.kinds import CertKind
from smki.storage.api import CERTIFICATE_STATUSES, CertificateFilter
from smki.x509.eui import parse_eui64
from smki.x509.roles import RemotePartyRole

DEFAULT_PAGE: Final = 50
MAX_PAGE: Final = 1000
KEY_USAGES: Final = ("ds", "ka")
_CURSOR_PREFIX: Final = b"after:"
_MAX_ID: Final = 1 << 63


@dataclass(frozen=True)
class SearchQuery:
    wanted: CertificateFilter
    limit: int
    after_id: int


def _bad(field: str, detail: str) -> InputError:
    return InputError(detail, code=f"bad-{field}", rid="R-REP-2")


def parse_serial(text: str) -> int:
    """A serial as hex digits (``0x`` and ``:`` separators allowed)."""
    try:
        serial = int(parse_serial_hex(text))
    except ValueError:
        raise _bad("serial", f"serial {text[:80]!r} is not a positive hexadecimal number") from None
    if serial >= 1 << 160:
        raise _bad("serial", "a serial is a positive integer of at most 20 octets")
    return serial


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(_CURSOR_PREFIX + str(last_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        if not raw.startswith(_CURSOR_PREFIX):
            raise ValueError
        value = int(raw[len(_CURSOR_PREFIX) :])
    except ValueError:
        raise _bad("cursor", "the cursor is not one this repository gave") from None
    # Ids are 64-bit: a forged cursor past them must be refused here, not by the database.
    if not 0 <= value < _MAX_ID:
        raise _bad("cursor", "the cursor is not one this repository gave")
    return value


def parse_query(
    *,
    authorities: Mapping[str, int],
    serial: str | None = None,
    eui: str | None = None,
    role: str | None = None,
    usage: str | None = None,
    status: str | None = None,
    issuer: str | None = None,
    kind: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> SearchQuery:
    """A search from request parameters; ``authorities`` maps issuer names to ids."""
    wanted_role = None
    if role:
        try:
            wanted_role = int(RemotePartyRole.parse(role))
        except InputError:
            raise _bad("role", f"unknown Remote Party Role {role[:40]!r}") from None
    if usage and usage not in KEY_USAGES:
        raise _bad("usage", f"key usage must be one of {', '.join(KEY_USAGES)}")
    if status and status not in CERTIFICATE_STATUSES:
        raise _bad("status", f"status must be one of {', '.join(CERTIFICATE_STATUSES)}")
    if kind and kind not in {k.value for k in CertKind}:
        raise _bad("kind", f"unknown certificate kind {kind[:40]!r}")
    authority_id = None
    if issuer:
        if issuer not in authorities:
            raise _bad("issuer", f"no issuing authority is named {issuer[:40]!r}")
        authority_id = authorities[issuer]
    wanted_eui = None
    if eui:
        try:
            wanted_eui = parse_eui64(eui)
        except InputError:
            raise _bad("eui", f"EUI-64 {eui[:40]!r} is not 16 hexadecimal digits") from None
    page = DEFAULT_PAGE if limit is None else limit
    if not 1 <= page <= MAX_PAGE:
        raise _bad("limit", f"limit must be between 1 and {MAX_PAGE}")
    return SearchQuery(
        wanted=CertificateFilter(
            serial=parse_serial(serial) if serial else None,
            eui=None if wanted_eui is None else bytes(wanted_eui),
            role=wanted_role,
            key_usage=usage or None,
            status=status or None,
            authority_id=authority_id,
            kind=kind or None,
        ),
        limit=page,
        after_id=decode_cursor(cursor) if cursor else 0,
    )
