"""The relational schema (R-X-2), as SQLAlchemy Core tables shared by SQLite and PostgreSQL.

The migrations under ``migrations/versions/`` create exactly these tables; a test compares a
migrated database with this ``MetaData``. Two column types make both databases
behave alike:

- ``UtcDateTime`` stores UTC and always returns timezone-aware UTC datetimes (SQLite keeps
  no offset, so one is re-attached on read; PostgreSQL's is normalised to UTC).
- ``HexSerial`` stores a certificate serial as 32 lower-case hex digits: neither database has
  an integer type wide enough for a 128-bit serial (R-PROF-3), and fixed-width hex keeps
  ordering and equality exact on both.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

SERIAL_HEX_DIGITS = 32
#: Longest token id (JWT ``jti``) the replay table stores (R-IKI-1).
TOKEN_ID_MAX_LENGTH = 128
_SERIAL_LIMIT = 1 << (4 * SERIAL_HEX_DIGITS)


class UnstorableValueError(ValueError):
    """A value that must not reach the database (naive datetime, serial out of range).

    Its message is written by us and carries no data, so it is safe to show.
    """


class UtcDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out (R-X-4)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise UnstorableValueError("a naive datetime cannot be stored; use timezone-aware UTC")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            # SQLite's text form has no offset; storing the UTC wall time keeps it sortable.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class HexSerial(sa.types.TypeDecorator[int]):
    """A positive integer below 2**128 as 32 lower-case hex digits (R-PROF-3)."""

    impl = sa.String(SERIAL_HEX_DIGITS)
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return encode_serial(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int(value, 16)


def encode_serial(serial: int) -> str:
    """The stored form of a serial; UnstorableValueError if it is not in 1 .. 2**128-1."""
    if isinstance(serial, bool) or not isinstance(serial, int) or not 0 < serial < _SERIAL_LIMIT:
        raise UnstorableValueError("certificate serial must be a positive integer below 2**128")
    return f"{serial:0{SERIAL_HEX_DIGITS}x}"


#: Row ids: 64-bit on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the auto-assigned rowid.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: Deterministic constraint names, so that migrations can refer to them on both databases.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

authorities = sa.Table(
    "authorities",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("env", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("pki", sa.Text, nullable=False),
    sa.Column("is_root", sa.Boolean, nullable=False),
    sa.Column("key_label", sa.Text, nullable=False),
    sa.Column("parent_id", Id, sa.ForeignKey("authorities.id"), nullable=True),
    # No foreign key: authorities and certificates would reference each other, and a root's
    # row must exist before the certificate it signs for itself.
    sa.Column("certificate_id", Id, nullable=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("env", "name"),
)

certificates = sa.Table(
    "certificates",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("env", sa.Text, nullable=False),
    sa.Column("authority_id", Id, sa.ForeignKey("authorities.id"), nullable=False),
    sa.Column("serial", HexSerial, nullable=False, index=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("subject_eui", sa.LargeBinary, nullable=True, index=True),
    sa.Column("role", sa.Integer, nullable=True, index=True),
    sa.Column("key_usage", sa.Text, nullable=False),
    sa.Column("not_before", UtcDateTime, nullable=False),
    sa.Column("not_after", UtcDateTime, nullable=False),
    sa.Column("ski", sa.LargeBinary, nullable=True),
    sa.Column("der", sa.LargeBinary, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    # Indexed for the repository's daily increments (R-REP-6).
    sa.Column("created_at", UtcDateTime, nullable=False, index=True),
    sa.Column("intent_id", Id, sa.ForeignKey("issuance_intents.id"), nullable=True),
    # Serials are unique per issuer (R-PROF-3); the database enforces it, not the caller.
    sa.UniqueConstraint("authority_id", "serial"),
    sa.UniqueConstraint("intent_id"),
)

revocations = sa.Table(
    "revocations",
    metadata,
    sa.Column(
        "certificate_id",
        Id,
        sa.ForeignKey("certificates.id"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("revoked_at", UtcDateTime, nullable=False, index=True),
)

crls = sa.Table(
    "crls",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("authority_id", Id, sa.ForeignKey("authorities.id"), nullable=False),
    sa.Column("list_kind", sa.Text, nullable=False),
    sa.Column("number", sa.BigInteger, nullable=False),
    sa.Column("this_update", UtcDateTime, nullable=False),
    sa.Column("next_update", UtcDateTime, nullable=False),
    sa.Column("der", sa.LargeBinary, nullable=False),
    sa.UniqueConstraint("authority_id", "list_kind", "number"),
)

issuance_intents = sa.Table(
    "issuance_intents",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("authority_id", Id, sa.ForeignKey("authorities.id"), nullable=False),
    sa.Column("serial", HexSerial, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("tbs_sha256", sa.LargeBinary, nullable=False),
    sa.Column("state", sa.Text, nullable=False, index=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime, nullable=True),
    sa.UniqueConstraint("authority_id", "serial"),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    # Text, not JSON/JSONB: the exact canonical text is what was hashed (R-X-1), and JSONB
    # would re-order and re-space it.
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.LargeBinary, nullable=False),
    sa.Column("hash", sa.LargeBinary, nullable=False),
)

#: One row (id = 1), created by the initial migration with seq 0 and the genesis hash, so that
#: appenders always have a row to lock (R-X-1).
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.LargeBinary, nullable=False),
    sa.CheckConstraint("id = 1", name="single_row"),
)


# -- registration (R-PART-1, R-PART-5, R-PART-6, R-IKI-1) ------------------------------------

parties = sa.Table(
    "parties",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("env", sa.Text, nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=False),
    # Canonical JSON of the sorted, distinct category names: one value, compared as text.
    sa.Column("categories", sa.Text, nullable=False),
    sa.Column("identity_verified_by", sa.Text, nullable=True),
    sa.Column("identity_verified_at", UtcDateTime, nullable=True),
    sa.Column("identity_evidence", sa.Text, nullable=True),
    sa.Column("srept_completed_at", UtcDateTime, nullable=True),
    sa.Column("srept_recorded_by", sa.Text, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

#: A party's Entity Identifiers (R-PART-1). ``env`` repeats the party's so that the database
#: itself refuses an EUI-64 held twice in one environment, however many writers race.
party_entity_ids = sa.Table(
    "party_entity_ids",
    metadata,
    # No index of its own: the primary key (party_id, eui) serves lookups by party.
    sa.Column("party_id", Id, sa.ForeignKey("parties.id"), nullable=False),
    sa.Column("env", sa.Text, nullable=False),
    sa.Column("eui", sa.LargeBinary(8), nullable=False),
    sa.PrimaryKeyConstraint("party_id", "eui"),
    sa.UniqueConstraint("env", "eui"),
)

officers = sa.Table(
    "officers",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("party_id", Id, sa.ForeignKey("parties.id"), nullable=False, index=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("appointed_at", UtcDateTime, nullable=False),
    sa.Column("appointed_by", sa.Text, nullable=False),
    sa.Column("removed_at", UtcDateTime, nullable=True),
    sa.Column("removed_by", sa.Text, nullable=True),
    # The ARO's IKI credential (R-IKI-1); one credential authenticates one officer.
    sa.Column("certificate_id", Id, sa.ForeignKey("certificates.id"), nullable=True),
    sa.UniqueConstraint("certificate_id"),
    sa.CheckConstraint("kind IN ('sro', 'aro')", name="kind"),
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("recipient", sa.Text, nullable=False, index=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("details", sa.Text, nullable=False),  # canonical JSON
)

#: Token ids seen by the Service Interface, kept until the token expires (R-IKI-1 replay).
token_ids = sa.Table(
    "token_ids",
    metadata,
    sa.Column("jti", sa.String(TOKEN_ID_MAX_LENGTH), primary_key=True),
    sa.Column("expires_at", UtcDateTime, nullable=False, index=True),
)


# -- batched CSRs (R-SI-2) --------------------------------------------------------------------

#: The states of a batch: accepted at intake, issuing while a runner holds its lease, then done
#: (every item has a certificate or an error) or failed (an internal error stopped it).
BATCH_STATES = ("accepted", "issuing", "done", "failed")

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),  # a random UUID, so ids reveal no volume
    sa.Column("env", sa.Text, nullable=False),
    sa.Column("party_id", Id, sa.ForeignKey("parties.id"), nullable=False, index=True),
    sa.Column("aro_id", Id, sa.ForeignKey("officers.id"), nullable=False),
    sa.Column("state", sa.Text, nullable=False, index=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("deadline", UtcDateTime, nullable=False),
    sa.Column("completed_at", UtcDateTime, nullable=True),
    # Which runner works on the batch, and until when its claim holds without renewal.
    sa.Column("lease_owner", sa.Text, nullable=True),
    sa.Column("lease_until", UtcDateTime, nullable=True),
    # Items with a certificate / with an error, moved with the items (status reads one row).
    sa.Column("issued", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
    sa.CheckConstraint("state IN ('accepted', 'issuing', 'done', 'failed')", name="state"),
)

#: One row per CSR of a batch, in input order. An item is open until it has either a
#: certificate or an error, never both; a certificate answers at most one item.
batch_items = sa.Table(
    "batch_items",
    metadata,
    sa.Column("batch_id", sa.Text, sa.ForeignKey("batches.id"), nullable=False),
    sa.Column("idx", sa.Integer, nullable=False),
    sa.Column("csr", sa.LargeBinary, nullable=False),
    sa.Column("certificate_id", Id, sa.ForeignKey("certificates.id"), nullable=True),
    sa.Column("error_code", sa.Text, nullable=True),
    sa.Column("error_detail", sa.Text, nullable=True),
    sa.PrimaryKeyConstraint("batch_id", "idx"),
    sa.UniqueConstraint("certificate_id"),
    sa.CheckConstraint("certificate_id IS NULL OR error_code IS NULL", name="one_outcome"),
)


# -- repository (R-REP-1..3, R-DOC-1, R-DOC-2, R-GOV-3) ---------------------------------------

#: The SMKI Document Set (R-DOC-1) and the confidential CPSs (R-DOC-2), every version kept.
documents = sa.Table(
    "documents",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("env", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("media_type", sa.Text, nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("sha256", sa.LargeBinary(32), nullable=False),
    sa.Column("confidential", sa.Boolean, nullable=False),
    # The SMKI PMA decision that approved this version (R-DOC-1).
    sa.Column("approved_by", sa.Text, nullable=False),
    sa.Column("published_at", UtcDateTime, nullable=False),
    sa.Column("published_by", sa.Text, nullable=False),
    sa.UniqueConstraint("env", "kind", "version"),
)

#: Certificates whose use the SMKI PMA suspended (R-GOV-3); a row is active until lifted.
certificate_suspensions = sa.Table(
    "certificate_suspensions",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("certificate_id", Id, sa.ForeignKey("certificates.id"), nullable=False, index=True),
    sa.Column("decision", sa.Text, nullable=False),
    sa.Column("suspended_by", sa.Text, nullable=False),
    sa.Column("suspended_at", UtcDateTime, nullable=False),
    sa.Column("lifted_by", sa.Text, nullable=True),
    sa.Column("lifted_at", UtcDateTime, nullable=True),
    sa.Column("lift_decision", sa.Text, nullable=True),
)

#: Repository sign-ins (R-REP-3): an ARO token buys a session; only its SHA-256 is kept.
repository_sessions = sa.Table(
    "repository_sessions",
    metadata,
    sa.Column("token_hash", sa.LargeBinary(32), primary_key=True),
    sa.Column("env", sa.Text, nullable=False),
    sa.Column("officer_id", Id, sa.ForeignKey("officers.id"), nullable=False, index=True),
    sa.Column("party_id", Id, sa.ForeignKey("parties.id"), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False, index=True),
    sa.Column("ended_at", UtcDateTime, nullable=True),
)
