"""Registration: parties, Entity Identifiers, officers, notifications, token ids.

(R-PART-1, R-PART-5, R-PART-6, R-IKI-1.) Written out in full, like 0001, so that this revision
keeps meaning the same thing after ``smki.storage.schema`` moves on.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "parties",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("env", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("categories", sa.Text, nullable=False),
        sa.Column("identity_verified_by", sa.Text, nullable=True),
        sa.Column("identity_verified_at", _utc(), nullable=True),
        sa.Column("identity_evidence", sa.Text, nullable=True),
        sa.Column("srept_completed_at", _utc(), nullable=True),
        sa.Column("srept_recorded_by", sa.Text, nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_parties"),
    )
    op.create_index("ix_parties_env", "parties", ["env"])
    op.create_table(
        "party_entity_ids",
        sa.Column("party_id", _ID, nullable=False),
        sa.Column("env", sa.Text, nullable=False),
        sa.Column("eui", sa.LargeBinary(8), nullable=False),
        sa.PrimaryKeyConstraint("party_id", "eui", name="pk_party_entity_ids"),
        sa.ForeignKeyConstraint(
            ["party_id"], ["parties.id"], name="fk_party_entity_ids_party_id_parties"
        ),
        # An EUI-64 belongs to one party per environment (R-PART-1), enforced here so that
        # concurrent registrations cannot both win.
        sa.UniqueConstraint("env", "eui", name="uq_party_entity_ids_env_eui"),
    )
    op.create_table(
        "officers",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("party_id", _ID, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("appointed_at", _utc(), nullable=False),
        sa.Column("appointed_by", sa.Text, nullable=False),
        sa.Column("removed_at", _utc(), nullable=True),
        sa.Column("removed_by", sa.Text, nullable=True),
        sa.Column("certificate_id", _ID, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_officers"),
        sa.ForeignKeyConstraint(["party_id"], ["parties.id"], name="fk_officers_party_id_parties"),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name="fk_officers_certificate_id_certificates",
        ),
        sa.UniqueConstraint("certificate_id", name="uq_officers_certificate_id"),
        sa.CheckConstraint("kind IN ('sro', 'aro')", name="ck_officers_kind"),
    )
    op.create_index("ix_officers_party_id", "officers", ["party_id"])
    op.create_table(
        "notifications",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
    )
    op.create_index("ix_notifications_recipient", "notifications", ["recipient"])
    op.create_table(
        "token_ids",
        sa.Column("jti", sa.String(128), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("jti", name="pk_token_ids"),
    )
    op.create_index("ix_token_ids_expires_at", "token_ids", ["expires_at"])


def downgrade() -> None:
    for table in ("token_ids", "notifications", "officers", "party_entity_ids", "parties"):
        op.drop_table(table)
