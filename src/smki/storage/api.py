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
from typing import Any, Final, Protocol

from smki.errors import StorageError


class TransactionBroken(StorageError):
    """The transaction itself failed (a savepoint statement, or the database ended it): nothing
    of it may commit, and no block of it may be reported done."""

    code = "unavailable"


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


@dataclass(frozen=True)
class PartyRow:
    """A SEC Party or RDP registered in one environment (R-PART-1)."""

    id: int
    env: str
    name: str
    categories: tuple[str, ...]  # sorted category names, e.g. ("gas-supplier", "import-supplier")
    entity_ids: tuple[bytes, ...]  # 8-octet EUI-64s, sorted
    identity_verified_by: str | None
    identity_verified_at: dt.datetime | None
    identity_evidence: str | None
    srept_completed_at: dt.datetime | None
    srept_recorded_by: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class OfficerRow:
    """A Senior or Authorised Responsible Officer of a party (R-PART-5)."""

    id: int
    party_id: int
    kind: str  # "sro" | "aro"
    name: str
    appointed_at: dt.datetime
    appointed_by: str
    removed_at: dt.datetime | None
    removed_by: str | None
    certificate_id: int | None  # the ARO's IKI credential (R-IKI-1)


@dataclass(frozen=True)
class NotificationRow:
    """A recorded notification (e.g. SREPT completion to the SEC Panel, R-PART-6)."""

    id: int
    at: dt.datetime
    recipient: str  # e.g. "sec-panel", "party:12"
    kind: str  # e.g. "srept-completed"
    subject: str
    details: dict[str, Any]


class RegistrationTransaction(Protocol):
    """Parties, officers, notifications and token replay protection (R-PART-*, R-IKI-1)."""

    def add_party(
        self,
        env: str,
        name: str,
        categories: Sequence[str],
        entity_ids: Sequence[bytes],
        at: dt.datetime,
    ) -> int:
        """Conflict ``duplicate-entity-id`` if an EUI-64 is held by a party of ``env``."""
        ...

    def party(self, party_id: int) -> PartyRow | None: ...
    def parties(self, env: str | None = None) -> list[PartyRow]: ...
    def party_by_entity_id(self, env: str, eui: bytes) -> PartyRow | None: ...
    def amend_party(
        self,
        party_id: int,
        *,
        name: str | None = None,
        categories: Sequence[str] | None = None,
        entity_ids: Sequence[bytes] | None = None,
    ) -> None:
        """Replace the given attributes; Conflict ``duplicate-entity-id`` as for add_party."""
        ...

    def set_identity_verified(
        self, party_id: int, by: str, evidence: str, at: dt.datetime
    ) -> None: ...
    def set_srept_completed(self, party_id: int, by: str, at: dt.datetime) -> bool:
        """Conditional: False if SREPT completion was already recorded."""
        ...

    def add_officer(self, party_id: int, kind: str, name: str, by: str, at: dt.datetime) -> int: ...
    def officer(self, officer_id: int) -> OfficerRow | None: ...
    def officers(self, party_id: int, *, include_removed: bool = False) -> list[OfficerRow]: ...
    def remove_officer(self, officer_id: int, by: str, at: dt.datetime) -> bool:
        """Conditional: False if already removed."""
        ...

    def set_officer_certificate(self, officer_id: int, certificate_id: int) -> None: ...
    def officer_by_certificate(self, certificate_id: int) -> OfficerRow | None: ...
    def add_notification(
        self, recipient: str, kind: str, subject: str, details: dict[str, Any], at: dt.datetime
    ) -> int: ...
    def notifications(self, recipient: str | None = None) -> list[NotificationRow]: ...
    def use_token_id(self, jti: str, expires_at: dt.datetime, at: dt.datetime) -> bool:
        """Record a token id; False if it was seen before (a replay). Ids whose expiry is
        past are purged, since an expired token is refused on its own."""
        ...

    def token_id_used(self, jti: str, at: dt.datetime) -> bool:
        """Whether ``use_token_id`` recorded ``jti`` and its expiry is not past at ``at``:
        a read, for callers that record the id later in a transaction of their own."""
        ...


@dataclass(frozen=True)
class BatchRow:
    """A Batched CSR (R-SI-2): who sent it, when it is due, and how far issuance got."""

    id: str  # a random UUID
    env: str
    party_id: int
    aro_id: int
    state: str  # "accepted" | "issuing" | "done" | "failed"
    count: int
    received_at: dt.datetime
    deadline: dt.datetime
    completed_at: dt.datetime | None
    lease_owner: str | None
    lease_until: dt.datetime | None


@dataclass(frozen=True)
class BatchItemRow:
    """One CSR of a batch at its input position ``idx`` (0-based), and its outcome if any."""

    batch_id: str
    idx: int
    csr: bytes
    certificate_id: int | None
    error_code: str | None
    error_detail: str | None


@dataclass(frozen=True)
class BatchItemError:
    """The precise refusal of one CSR of a batch (R-SI-2, R-SI-3)."""

    index: int
    code: str
    detail: str


class BatchTransaction(Protocol):
    """Batched CSRs and their items (R-SI-2)."""

    def add_batch(
        self,
        batch_id: str,
        env: str,
        party_id: int,
        aro_id: int,
        received_at: dt.datetime,
        deadline: dt.datetime,
        csrs: Sequence[bytes],
    ) -> BatchRow:
        """Store an accepted batch and its items (bulk insert) in state "accepted"."""
        ...

    def batch(self, batch_id: str) -> BatchRow | None: ...
    def claim_batch(
        self, owner: str, until: dt.datetime, now: dt.datetime, *, env: str | None = None
    ) -> BatchRow | None:
        """Lease the oldest "accepted" or "issuing" batch whose lease is free or past, set it
        "issuing"; None if there is none. Two processes never claim the same batch."""
        ...

    def renew_lease(self, batch_id: str, owner: str, until: dt.datetime) -> bool:
        """Conditional: False unless ``owner`` holds the lease of an unfinished batch."""
        ...

    def unfinished_batches(self, env: str | None = None) -> list[BatchRow]:
        """Batches "accepted" or "issuing", oldest first (leases and queue depth)."""
        ...

    def open_items(self, batch_id: str, limit: int, *, after: int = -1) -> list[BatchItemRow]:
        """Items with neither certificate nor error, ``idx > after``, in idx order."""
        ...

    def set_item_results(self, batch_id: str, results: Sequence[tuple[int, int]]) -> None:
        """Record (idx, certificate_id) for open items; Conflict if one is not open."""
        ...

    def set_item_errors(self, batch_id: str, errors: Sequence[tuple[int, str, str]]) -> None:
        """Record (idx, code, detail) for open items; Conflict if one is not open."""
        ...

    def finish_batch(self, batch_id: str, state: str, at: dt.datetime) -> bool:
        """Conditional: set "done" or "failed" and release the lease; False if finished."""
        ...

    def batch_counts(self, batch_id: str) -> tuple[int, int, int]:
        """(issued, failed, open) items."""
        ...

    def batch_errors(self, batch_id: str) -> list[BatchItemError]:
        """The items refused, in idx order."""
        ...

    def batch_certificates(self, batch_id: str) -> list[bytes]:
        """The DER of the certificates issued for the batch, in idx order."""
        ...


#: Repository statuses (R-REP-2), derived in this order of precedence: revoked, suspended,
#: expired, in-use.
CERTIFICATE_STATUSES = ("in-use", "revoked", "suspended", "expired")


@dataclass(frozen=True)
class CertificateFilter:
    """What a repository search asks for (R-REP-2); None means any. All in one environment."""

    serial: int | None = None
    eui: bytes | None = None  # subject uniqueIdentifier or SAN hwSerialNum
    role: int | None = None
    key_usage: str | None = None  # "ds" | "ka" | …
    status: str | None = None  # one of CERTIFICATE_STATUSES
    authority_id: int | None = None  # the issuer
    kind: str | None = None


#: The filter fields a point read (``Store.look_up``) answers: exactly one, nothing else.
POINT_FIELDS: Final = ("serial", "eui")


def point_field(wanted: CertificateFilter) -> str | None:
    """``serial`` or ``eui`` when that is all ``wanted`` asks for, else None."""
    present = [name for name, value in vars(wanted).items() if value is not None]
    if len(present) == 1 and present[0] in POINT_FIELDS:
        return present[0]
    return None


@dataclass(frozen=True)
class RevocationRow:
    certificate_id: int
    reason: str
    revoked_at: dt.datetime


@dataclass(frozen=True)
class ListedCertificate:
    """A certificate with what the repository shows beside it, read in one query."""

    row: CertificateRow
    revocation: RevocationRow | None
    suspended: bool


@dataclass(frozen=True)
class SuspensionRow:
    """A suspension of the use of a certificate by the SMKI PMA (R-GOV-3)."""

    id: int
    certificate_id: int
    decision: str
    suspended_by: str
    suspended_at: dt.datetime
    lifted_by: str | None
    lifted_at: dt.datetime | None
    lift_decision: str | None


@dataclass(frozen=True)
class DocumentRow:
    """One version of an SMKI document (R-DOC-1, R-DOC-2). ``content`` is empty when the row
    was read as a listing."""

    id: int
    env: str
    kind: str
    version: int
    title: str
    media_type: str
    sha256: bytes
    size: int
    confidential: bool
    approved_by: str
    published_at: dt.datetime
    published_by: str
    content: bytes = b""


@dataclass(frozen=True)
class SessionRow:
    """A repository sign-in (R-REP-3); the secret itself is never stored."""

    token_hash: bytes
    env: str
    officer_id: int
    party_id: int
    created_at: dt.datetime
    expires_at: dt.datetime
    ended_at: dt.datetime | None


class RepositoryTransaction(Protocol):
    """The SMKI Repository's reads and its few writes (R-REP-1..6, R-DOC-1, R-GOV-3)."""

    def find_certificates(
        self,
        env: str,
        wanted: CertificateFilter,
        now: dt.datetime,
        *,
        after_id: int = 0,
        limit: int = 100,
    ) -> list[CertificateRow]:
        """Certificates matching ``wanted`` with id > ``after_id``, by id, at most ``limit``.
        The status filter is evaluated at ``now``."""
        ...

    def list_certificates(
        self,
        env: str,
        wanted: CertificateFilter,
        now: dt.datetime,
        *,
        after_id: int = 0,
        limit: int = 100,
    ) -> list[ListedCertificate]:
        """As ``find_certificates``, each with its revocation and suspension (one query)."""
        ...

    def certificates_created(
        self, env: str, since: dt.datetime | None, until: dt.datetime, *, after_id: int, limit: int
    ) -> list[CertificateRow]:
        """Certificates stored in [since, until) (all before ``until`` when since is None)."""
        ...

    def revocations_of(self, certificate_ids: Sequence[int]) -> dict[int, RevocationRow]: ...
    def revocations_between(
        self, env: str, since: dt.datetime | None, until: dt.datetime
    ) -> list[tuple[CertificateRow, RevocationRow]]: ...

    def suspended_ids(self, certificate_ids: Sequence[int]) -> set[int]:
        """Which of these certificates have a suspension not yet lifted (R-GOV-3)."""
        ...

    def suspend_certificate(
        self, certificate_id: int, decision: str, by: str, at: dt.datetime
    ) -> int | None:
        """A new active suspension's id; None if one is already active."""
        ...

    def lift_suspension(self, certificate_id: int, decision: str, by: str, at: dt.datetime) -> bool:
        """Conditional: False if the certificate has no active suspension."""
        ...

    def suspensions(self, certificate_id: int) -> list[SuspensionRow]: ...
    def active_suspensions(
        self, env: str, at: dt.datetime
    ) -> list[tuple[CertificateRow, SuspensionRow]]:
        """Suspensions made before ``at`` and not lifted before it, by suspension id
        (R-GOV-3, R-REP-6)."""
        ...

    def suspension_changes(
        self, env: str, since: dt.datetime | None, until: dt.datetime
    ) -> list[tuple[CertificateRow, SuspensionRow]]:
        """Suspensions made or lifted in [since, until), by suspension id (R-REP-6)."""
        ...

    def crls(self, authority_id: int, list_kind: str) -> list[CrlRow]:
        """Every list issued, by number (``der`` left empty: a listing)."""
        ...

    def crl_by_number(self, authority_id: int, list_kind: str, number: int) -> CrlRow | None: ...
    def crls_between(
        self, env: str, since: dt.datetime | None, until: dt.datetime
    ) -> list[CrlRow]: ...

    def add_document(
        self,
        env: str,
        kind: str,
        title: str,
        media_type: str,
        content: bytes,
        confidential: bool,
        approved_by: str,
        by: str,
        at: dt.datetime,
    ) -> DocumentRow:
        """The next version of ``kind`` in ``env`` (1 for the first)."""
        ...

    def documents(self, env: str, kind: str | None = None) -> list[DocumentRow]:
        """Every version (without content), by kind then version."""
        ...

    def document(self, env: str, kind: str, version: int | None = None) -> DocumentRow | None:
        """One version with its content; the latest when ``version`` is None."""
        ...

    def add_session(
        self,
        token_hash: bytes,
        env: str,
        officer_id: int,
        party_id: int,
        at: dt.datetime,
        expires_at: dt.datetime,
    ) -> None: ...
    def session(self, token_hash: bytes) -> SessionRow | None: ...
    def end_session(self, token_hash: bytes, at: dt.datetime) -> bool: ...
    def end_officer_sessions(self, officer_id: int, at: dt.datetime) -> int:
        """End every open session of an officer (e.g. on removal); how many were open."""
        ...


class Transaction(RegistrationTransaction, BatchTransaction, RepositoryTransaction, Protocol):
    def isolated(self) -> AbstractContextManager[None]:
        """A block whose writes are undone if it raises, leaving the transaction usable (a
        savepoint): one refused unit of a shared transaction takes nothing else with it."""
        ...

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

    def reading(self) -> AbstractContextManager[Transaction]:
        """A consistent snapshot for reads only: it takes no write lock (SQLite) and is
        READ ONLY (PostgreSQL), so readers never queue behind writers (R-REP-4)."""
        ...

    def look_up(
        self, env: str, wanted: CertificateFilter, *, limit: int
    ) -> list[ListedCertificate]:
        """Certificates by serial or by EUI-64 alone (``point_field``), in id
        order, read by one statement outside any transaction: the repository's hot look-ups
        (R-REP-4). As ``Transaction.list_certificates`` for the same filter."""
        ...

    def look_up_many(
        self, env: str, field: str, keys: Sequence[Any], *, limit: int
    ) -> list[list[ListedCertificate]]:
        """``look_up`` for several serials or several EUI-64s (``field``) in one statement:
        for each key, in order, its first ``limit`` certificates (R-REP-4)."""
        ...

    def audit_events(self) -> Iterator[AuditRow]:
        """All audit events in sequence order (for the verifier)."""
        ...

    def audit_head(self) -> tuple[int, bytes] | None:
        """The recorded (seq, hash) of the last event, or None for an empty log."""
        ...

    def close(self) -> None: ...
