"""Department credentials of the front door: API keys stored as a peppered HMAC, with expiry and revocation.

Revision ID: 0009_credentials
Revises: 0008_without_health_checks
"""

import sqlalchemy as sa
from alembic import op

from activities.store.base import AwareDateTime

revision = "0009_credentials"
down_revision = "0008_without_health_checks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_credentials",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("pepper_id", sa.String(32), nullable=False),
        sa.Column("secret_hmac", sa.String(64), nullable=False),
        sa.Column("expires_at", AwareDateTime(), nullable=False),
        sa.Column("revoked_at", AwareDateTime(), nullable=True),
        sa.Column("last_used_at", AwareDateTime(), nullable=True),
        sa.Column("created_at", AwareDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('department', 'operator')", name=op.f("ck_api_credentials_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_credentials")),
        sa.UniqueConstraint("key_id", name=op.f("uq_api_credentials_key_id")),
    )
    op.create_index(op.f("ix_api_credentials_department"), "api_credentials", ["department"])


def downgrade() -> None:
    op.drop_index(op.f("ix_api_credentials_department"), table_name="api_credentials")
    op.drop_table("api_credentials")
