"""Leaders' joint meetings (市領導會辦) as their own records, and the registry's leaders' rungs that request them.

Revision ID: 0019_joint_meetings
Revises: 0016_audit_roles_lowercase
"""

import sqlalchemy as sa
from alembic import op

from activities.store.base import AwareDateTime

revision = "0019_joint_meetings"
down_revision = "0018_open_record_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "joint_meetings",
        sa.Column("meeting_id", sa.String(200), nullable=False),
        sa.Column("case_id", sa.String(200), nullable=False),
        sa.Column("departments", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=True),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("requested_at", AwareDateTime(), nullable=False),
        sa.Column("due_at", AwareDateTime(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("decided_at", AwareDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", AwareDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("meeting_id", name=op.f("pk_joint_meetings")),
    )
    op.create_index(op.f("ix_joint_meetings_case_id"), "joint_meetings", ["case_id"])
    op.create_index(op.f("ix_joint_meetings_requested_at"), "joint_meetings", ["requested_at"])
    op.create_table(
        "leaders_rungs",
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("after_amount", sa.Numeric(10, 2), nullable=True),
        sa.Column("after_unit", sa.String(16), nullable=True),
        sa.Column("limit_amount", sa.Numeric(10, 2), nullable=True),
        sa.Column("limit_unit", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("scope", "code", name=op.f("pk_leaders_rungs")),
    )


def downgrade() -> None:
    op.drop_table("leaders_rungs")
    op.drop_index(op.f("ix_joint_meetings_requested_at"), table_name="joint_meetings")
    op.drop_index(op.f("ix_joint_meetings_case_id"), table_name="joint_meetings")
    op.drop_table("joint_meetings")
