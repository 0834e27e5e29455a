"""Delivery: the attempt trail of department pushes and the store-and-forward inbox.

Revision ID: 0005_delivery
Revises: 0003_registry
"""

import sqlalchemy as sa
from alembic import op

from activities.store.base import AwareDateTime

revision = "0005_delivery"
down_revision = "0003_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("push_id", sa.String(200), nullable=False),
        sa.Column("department_code", sa.String(64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("workflow_id", sa.String(255), nullable=True),
        sa.Column("attempted_at", AwareDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
    )
    op.create_index(op.f("ix_delivery_attempts_push_id"), "delivery_attempts", ["push_id"])
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("push_id", sa.String(200), nullable=False),
        sa.Column("department_code", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("subject_id", sa.String(200), nullable=False),
        sa.Column("issued_at", AwareDateTime(), nullable=False),
        sa.Column("received_at", AwareDateTime(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("acknowledged_at", AwareDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(200), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_code"], ["departments.code"], name=op.f("fk_inbox_department_code_departments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint("push_id", name=op.f("uq_inbox_push_id")),
    )
    op.create_index(op.f("ix_inbox_department_code"), "inbox", ["department_code"])


def downgrade() -> None:
    op.drop_index(op.f("ix_inbox_department_code"), table_name="inbox")
    op.drop_table("inbox")
    op.drop_index(op.f("ix_delivery_attempts_push_id"), table_name="delivery_attempts")
    op.drop_table("delivery_attempts")
