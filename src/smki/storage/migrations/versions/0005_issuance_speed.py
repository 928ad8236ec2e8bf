"""Batch progress counters: a batch's issued and failed items kept on its row (R-SI-2).

The status of a 50,000-CSR batch was two aggregates over its items on every poll; the
counters are moved in the transaction that records the items' outcomes, so reading them
costs one row. Existing batches are counted once here.

Written out in full, like the earlier revisions, so that this revision keeps meaning the same
thing after ``smki.storage.schema`` moves on.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.add_column(sa.Column("issued", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("failed", sa.Integer, nullable=False, server_default="0"))
    op.execute(
        "UPDATE batches SET "
        "issued = (SELECT COUNT(*) FROM batch_items i "
        "WHERE i.batch_id = batches.id AND i.certificate_id IS NOT NULL), "
        "failed = (SELECT COUNT(*) FROM batch_items i "
        "WHERE i.batch_id = batches.id AND i.error_code IS NOT NULL)"
    )


def downgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.drop_column("failed")
        batch.drop_column("issued")
