"""The health-check table goes with the health workflow, which stood in until the case workflow landed.

Revision ID: 0008_without_health_checks
Revises: 0007_one_line
"""

import sqlalchemy as sa
from alembic import op

from activities.store.base import AwareDateTime

revision = "0008_without_health_checks"
down_revision = "0007_one_line"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("health_checks")


def downgrade() -> None:
    op.create_table(
        "health_checks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("check_id", sa.String(64), nullable=False),
        sa.Column("checked_at", AwareDateTime(), nullable=False),
        sa.Column("worker", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_checks")),
        sa.UniqueConstraint("check_id", name=op.f("uq_health_checks_check_id")),
    )
