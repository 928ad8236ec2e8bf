"""Repository: the Document Set, certificate suspensions and repository sessions.

Written out in full, like the earlier revisions, so that this revision keeps meaning the same
thing after ``smki.storage.schema`` moves on (R-REP-1..3, R-DOC-1, R-DOC-2, R-GOV-3).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    # The repository's increments select by these times (R-REP-6).
    op.create_index("ix_certificates_created_at", "certificates", ["created_at"])
    op.create_index("ix_revocations_revoked_at", "revocations", ["revoked_at"])
    op.create_table(
        "documents",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("env", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("media_type", sa.Text, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("sha256", sa.LargeBinary(32), nullable=False),
        sa.Column("confidential", sa.Boolean, nullable=False),
        sa.Column("approved_by", sa.Text, nullable=False),
        sa.Column("published_at", _utc(), nullable=False),
        sa.Column("published_by", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
        sa.UniqueConstraint("env", "kind", "version", name="uq_documents_env_kind_version"),
    )
    op.create_table(
        "certificate_suspensions",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("certificate_id", _ID, nullable=False),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("suspended_by", sa.Text, nullable=False),
        sa.Column("suspended_at", _utc(), nullable=False),
        sa.Column("lifted_by", sa.Text, nullable=True),
        sa.Column("lifted_at", _utc(), nullable=True),
        sa.Column("lift_decision", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_certificate_suspensions"),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name="fk_certificate_suspensions_certificate_id_certificates",
        ),
    )
    op.create_index(
        "ix_certificate_suspensions_certificate_id",
        "certificate_suspensions",
        ["certificate_id"],
    )
    op.create_table(
        "repository_sessions",
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("env", sa.Text, nullable=False),
        sa.Column("officer_id", _ID, nullable=False),
        sa.Column("party_id", _ID, nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.Column("ended_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_repository_sessions"),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officers.id"], name="fk_repository_sessions_officer_id_officers"
        ),
        sa.ForeignKeyConstraint(
            ["party_id"], ["parties.id"], name="fk_repository_sessions_party_id_parties"
        ),
    )
    op.create_index("ix_repository_sessions_officer_id", "repository_sessions", ["officer_id"])
    op.create_index("ix_repository_sessions_expires_at", "repository_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_table("repository_sessions")
    op.drop_table("certificate_suspensions")
    op.drop_table("documents")
    op.drop_index("ix_revocations_revoked_at", table_name="revocations")
    op.drop_index("ix_certificates_created_at", table_name="certificates")
