"""Foundation: the health-check table.

Revision ID: 0001_foundation
Revises:
"""

import sqlalchemy as sa
from alembic import op

from activities.store.base import AwareDateTime

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "health_checks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("check_id", sa.String(64), nullable=False),
        sa.Column("checked_at", AwareDateTime(), nullable=False),
        sa.Column("worker", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_checks")),
        sa.UniqueConstraint("check_id", name=op.f("uq_health_checks_check_id")),
    )


def downgrade() -> None:
    op.drop_table("health_checks")
