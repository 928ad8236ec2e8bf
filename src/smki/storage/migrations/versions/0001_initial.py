"""Initial schema (R-X-2, R-X-1).

Written out in full rather than imported from ``smki.storage.schema`` so that this revision
keeps meaning the same thing after the schema moves on; a test checks that a database
migrated to head matches ``schema.metadata`` exactly.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_SERIAL = sa.String(32)


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_meta"),
    )
    op.create_table(
        "authorities",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("env", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("pki", sa.Text, nullable=False),
        sa.Column("is_root", sa.Boolean, nullable=False),
        sa.Column("key_label", sa.Text, nullable=False),
        sa.Column("parent_id", _ID, nullable=True),
        sa.Column("certificate_id", _ID, nullable=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_authorities"),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["authorities.id"], name="fk_authorities_parent_id_authorities"
        ),
        sa.UniqueConstraint("env", "name", name="uq_authorities_env_name"),
    )
    op.create_table(
        "issuance_intents",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("authority_id", _ID, nullable=False),
        sa.Column("serial", _SERIAL, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("tbs_sha256", sa.LargeBinary, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("finished_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_issuance_intents"),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["authorities.id"],
            name="fk_issuance_intents_authority_id_authorities",
        ),
        sa.UniqueConstraint(
            "authority_id", "serial", name="uq_issuance_intents_authority_id_serial"
        ),
    )
    op.create_index("ix_issuance_intents_state", "issuance_intents", ["state"])
    op.create_table(
        "certificates",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("env", sa.Text, nullable=False),
        sa.Column("authority_id", _ID, nullable=False),
        sa.Column("serial", _SERIAL, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("subject_eui", sa.LargeBinary, nullable=True),
        sa.Column("role", sa.Integer, nullable=True),
        sa.Column("key_usage", sa.Text, nullable=False),
        sa.Column("not_before", _utc(), nullable=False),
        sa.Column("not_after", _utc(), nullable=False),
        sa.Column("ski", sa.LargeBinary, nullable=True),
        sa.Column("der", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("intent_id", _ID, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_certificates"),
        sa.ForeignKeyConstraint(
            ["authority_id"], ["authorities.id"], name="fk_certificates_authority_id_authorities"
        ),
        sa.ForeignKeyConstraint(
            ["intent_id"],
            ["issuance_intents.id"],
            name="fk_certificates_intent_id_issuance_intents",
        ),
        sa.UniqueConstraint("authority_id", "serial", name="uq_certificates_authority_id_serial"),
        sa.UniqueConstraint("intent_id", name="uq_certificates_intent_id"),
    )
    op.create_index("ix_certificates_serial", "certificates", ["serial"])
    op.create_index("ix_certificates_subject_eui", "certificates", ["subject_eui"])
    op.create_index("ix_certificates_role", "certificates", ["role"])
    op.create_table(
        "revocations",
        sa.Column("certificate_id", _ID, nullable=False, autoincrement=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("revoked_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("certificate_id", name="pk_revocations"),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name="fk_revocations_certificate_id_certificates",
        ),
    )
    op.create_table(
        "crls",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("authority_id", _ID, nullable=False),
        sa.Column("list_kind", sa.Text, nullable=False),
        sa.Column("number", sa.BigInteger, nullable=False),
        sa.Column("this_update", _utc(), nullable=False),
        sa.Column("next_update", _utc(), nullable=False),
        sa.Column("der", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_crls"),
        sa.ForeignKeyConstraint(
            ["authority_id"], ["authorities.id"], name="fk_crls_authority_id_authorities"
        ),
        sa.UniqueConstraint(
            "authority_id", "list_kind", "number", name="uq_crls_authority_id_list_kind_number"
        ),
    )
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.LargeBinary, nullable=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_events"),
    )
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
        sa.CheckConstraint("id = 1", name="ck_audit_head_single_row"),
    )
    # The row every appender locks (R-X-1): seq 0 and the genesis hash mean "no events yet".
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": bytes(32)}])


def downgrade() -> None:
    for table in (
        "audit_head",
        "audit_events",
        "crls",
        "revocations",
        "certificates",
        "issuance_intents",
        "authorities",
        "meta",
    ):
        op.drop_table(table)
