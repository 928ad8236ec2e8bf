"""Batched CSRs: batches and their items (R-SI-2).

Written out in full, like 0001 and 0002, so that this revision keeps meaning the same thing
after ``smki.storage.schema`` moves on.

Revision ID: 0003
Revises: 0002
Create Date: 2025-03-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("env", sa.Text, nullable=False),
        sa.Column("party_id", _ID, nullable=False),
        sa.Column("aro_id", _ID, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("received_at", _utc(), nullable=False),
        sa.Column("deadline", _utc(), nullable=False),
        sa.Column("completed_at", _utc(), nullable=True),
        sa.Column("lease_owner", sa.Text, nullable=True),
        sa.Column("lease_until", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_batches"),
        sa.ForeignKeyConstraint(["party_id"], ["parties.id"], name="fk_batches_party_id_parties"),
        sa.ForeignKeyConstraint(["aro_id"], ["officers.id"], name="fk_batches_aro_id_officers"),
        sa.CheckConstraint(
            "state IN ('accepted', 'issuing', 'done', 'failed')", name="ck_batches_state"
        ),
    )
    op.create_index("ix_batches_party_id", "batches", ["party_id"])
    op.create_index("ix_batches_state", "batches", ["state"])
    op.create_table(
        "batch_items",
        sa.Column("batch_id", sa.Text, nullable=False),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.Column("csr", sa.LargeBinary, nullable=False),
        sa.Column("certificate_id", _ID, nullable=True),
        sa.Column("error_code", sa.Text, nullable=True),
        sa.Column("error_detail", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("batch_id", "idx", name="pk_batch_items"),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name="fk_batch_items_batch_id_batches"
        ),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name="fk_batch_items_certificate_id_certificates",
        ),
        # A certificate answers one item; an item has a certificate or an error, not both.
        sa.UniqueConstraint("certificate_id", name="uq_batch_items_certificate_id"),
        sa.CheckConstraint(
            "certificate_id IS NULL OR error_code IS NULL", name="ck_batch_items_one_outcome"
        ),
    )


def downgrade() -> None:
    op.drop_table("batch_items")
    op.drop_index("ix_batches_state", table_name="batches")
    op.drop_index("ix_batches_party_id", table_name="batches")
    op.drop_table("batches")
