"""A joint ("one thing") application's status code: the short verification code its applicant is given, sealed,
which with the application's id opens the public status lookup (`POST /v1/joint/status`).

Revision ID: 0024_joint_more
Revises: 0023_case_channel
"""

import sqlalchemy as sa
from alembic import op

from activities.store.base import AwareDateTime

revision = "0024_joint_more"
down_revision = "0023_case_channel"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "joint_status_codes",
        sa.Column("joint_id", sa.String(200), nullable=False),
        sa.Column("verification_code", sa.Text(), nullable=False),
        sa.Column("created_at", AwareDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("joint_id", name=op.f("pk_joint_status_codes")),
    )


def downgrade() -> None:
    op.drop_table("joint_status_codes")
