"""Rows and the narrow protocols the rest of smki uses to reach the store.

Every method of ``Transaction`` runs inside one database transaction; ``Store.transaction()``
commits on a clean exit and rolls back on any exception, so a use case happens whole or not at
all. The audit event for a change is written with ``Transaction.audit`` in the same transaction
(R-X-1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class AuthorityRow:
    id: int
    env: str  # "test" | "live"
    name: str  # e.g. "root-oca", "issuing-oca", "root-dca", …
    pki: str  # "organisation" | "device" | "iki" | "dccki"
    is_root: bool
    key_label: str
    parent_id: int | None
    certificate_id: int | None
    status: str  # "active" | "revoked"
    created_at: dt.datetime


@dataclass(frozen=True)
class NewCertificate:
    authority_id: int  # the issuer
    serial: int
    kind: str  # profile kind: "device", "organisation", "root-oca", "issuing-oca", …
    subject_eui: bytes | None  # 8 octets: uniqueIdentifier or hwSerialNum
    role: int | None  # Remote Party Role for organisation certificates
    key_usage: str  # "ds" | "ka" | "ca" | "tls-server" | "tls-client" | …
    not_before: dt.datetime
    not_after: dt.datetime
    ski: bytes | None
    der: bytes
    intent_id: int | None = None


@dataclass(frozen=True)
class CertificateRow:
    id: int
    env: str
    authority_id: int
    serial: int
    kind: str
    subject_eui: bytes | None
    role: int | None
    key_usage: str
    not_before: dt.datetime
    not_after: dt.datetime
    ski: bytes | None
    der: bytes
    status: str  # "in-use" | "revoked"
    created_at: dt.datetime


@dataclass(frozen=True)
class RevokedEntry:
    serial: int
    revoked_at: dt.datetime
    reason: str


@dataclass(frozen=True)
class CrlRow:
    id: int
    authority_id: int
    list_kind: str  # "crl" (end-entity revocations) | "arl" (revoked CA certificates)
    number: int
    this_update: dt.datetime
    next_update: dt.datetime
    der: bytes


@dataclass(frozen=True)
class IntentRow:
    id: int
    authority_id: int
    serial: int
    kind: str
    tbs_sha256: bytes
    state: str  # "pending" | "done" | "abandoned"
    created_at: dt.datetime


@dataclass(frozen=True)
class AuditRow:
    seq: int
    at: dt.datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    prev_hash: bytes
    hash: bytes
    #: The details exactly as stored (canonical JSON). The verifier hashes this text, so an edit
    #: is caught even if it leaves the parsed ``details`` unchanged or unreadable (R-X-1).
    details_json: str | None = None


class Transaction(Protocol):
    # -- audit (R-X-1) ----------------------------------------------------------------------
    def audit(self, actor: str, action: str, subject: str, details: dict[str, Any]) -> int:
        """Append a hash-chained event; returns its sequence number."""
        ...

    # -- meta -------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...

    # -- authorities ------------------------------------------------------------------------
    def add_authority(
        self, env: str, name: str, pki: str, is_root: bool, key_label: str, parent_id: int | None
    ) -> int:
        """Conflict if (env, name) exists."""
        ...

    def set_authority_certificate(self, authority_id: int, certificate_id: int) -> None: ...
    def set_authority_status(self, authority_id: int, status: str) -> bool:
        """Conditional update; False if it already had that status."""
        ...

    def authority(self, env: str, name: str) -> AuthorityRow | None: ...
    def authority_by_id(self, authority_id: int) -> AuthorityRow: ...
    def authorities(self, env: str | None = None) -> list[AuthorityRow]: ...

    # -- issuance (R-CA-4) ------------------------------------------------------------------
    def reserve_intents(
        self, authority_id: int, items: Sequence[tuple[int, str, bytes]], at: dt.datetime
    ) -> list[int]:
        """Reserve (serial, kind, tbs_sha256) intents in bulk; Conflict on a serial already
        used by this issuer (intent or certificate). Returns the intent ids in order."""
        ...

    def pending_intents(self) -> list[IntentRow]: ...
    def finish_intents(self, intent_ids: Sequence[int], state: str, at: dt.datetime) -> None:
        """Mark intents "done" or "abandoned" (only those still pending)."""
        ...

    def add_certificates(self, rows: Sequence[NewCertificate], at: dt.datetime) -> list[int]:
        """Bulk insert (executemany); marks each row's intent done. Returns ids in order."""
        ...

    def certificate(self, certificate_id: int) -> CertificateRow: ...
    def certificate_by_serial(self, env: str, serial: int) -> list[CertificateRow]:
        """All certificates in ``env`` with that serial (unique per issuer, not globally)."""
        ...

    def certificate_for_intent(self, intent_id: int) -> CertificateRow | None: ...
    def count_certificates(self, env: str | None = None) -> int: ...

    # -- revocation (R-SI-4, R-REP-5) -------------------------------------------------------
    def revoke(self, certificate_id: int, reason: str, at: dt.datetime) -> bool:
        """Conditional: False if already revoked."""
        ...

    def revoked_entries(
        self,
        authority_id: int,
        kinds: Sequence[str] | None,
        exclude_kinds: Sequence[str] | None = None,
    ) -> list[RevokedEntry]:
        """Revoked certificates issued by ``authority_id``, filtered by profile kind."""
        ...

    # -- CRLs and ARLs ----------------------------------------------------------------------
    def next_crl_number(self, authority_id: int, list_kind: str) -> int: ...
    def add_crl(
        self,
        authority_id: int,
        list_kind: str,
        number: int,
        this_update: dt.datetime,
        next_update: dt.datetime,
        der: bytes,
    ) -> int: ...
    def latest_crl(self, authority_id: int, list_kind: str) -> CrlRow | None: ...


class Store(Protocol):
    url: str

    def transaction(self) -> AbstractContextManager[Transaction]:
        """One use case, committed whole or rolled back whole."""
        ...

    def audit_events(self) -> Iterator[AuditRow]:
        """All audit events in sequence order (for the verifier)."""
        ...

    def audit_head(self) -> tuple[int, bytes] | None:
        """The recorded (seq, hash) of the last event, or None for an empty log."""
        ...

    def close(self) -> None: ...
