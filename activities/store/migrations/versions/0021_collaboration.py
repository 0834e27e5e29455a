"""Departments working for each other: shared data items, scheduled deliveries and joint matters in the registry,
and the records of verification calls, delivery days and joint handlings.

Revision ID: 0021_collaboration
Revises: 0016_audit_roles_lowercase
"""

import sqlalchemy as sa
from alembic import op

from activities.store.base import AwareDateTime

revision = "0021_collaboration"
down_revision = "0020_intake"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shared_items",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("department_code", sa.String(64), nullable=False),
        sa.Column("system", sa.String(100), nullable=False),
        sa.Column("endpoint_url", sa.String(500), nullable=False),
        sa.Column("secret_ref", sa.String(100), nullable=True),
        sa.Column("timeout_seconds", sa.Float(), nullable=False),
        sa.Column("grantees", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", AwareDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_shared_items")),
    )
    op.create_index(op.f("ix_shared_items_department_code"), "shared_items", ["department_code"])
    op.create_table(
        "scheduled_deliveries",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("deliverer", sa.String(64), nullable=False),
        sa.Column("receiver", sa.String(64), nullable=False),
        sa.Column("calendar", sa.String(24), nullable=False),
        sa.Column("due", sa.String(5), nullable=False),
        sa.Column("missing_after", sa.String(5), nullable=False),
        sa.Column("max_records", sa.Integer(), nullable=False),
        sa.Column("pull_url", sa.String(500), nullable=True),
        sa.Column("pull_at", sa.String(5), nullable=True),
        sa.Column("secret_ref", sa.String(100), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", AwareDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_scheduled_deliveries")),
    )
    op.create_index(op.f("ix_scheduled_deliveries_deliverer"), "scheduled_deliveries", ["deliverer"])
    op.create_table(
        "joint_matters",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", AwareDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_joint_matters")),
    )
    op.create_table(
        "verification_calls",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(200), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(64), nullable=False),
        sa.Column("asking_department", sa.String(64), nullable=False),
        sa.Column("answering_department", sa.String(64), nullable=False),
        sa.Column("system", sa.String(100), nullable=False),
        sa.Column("purpose_kind", sa.String(24), nullable=False),
        sa.Column("purpose_id", sa.String(200), nullable=False),
        sa.Column("question_digest", sa.String(64), nullable=False),
        sa.Column("answer_digest", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("called_at", AwareDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_calls")),
        sa.UniqueConstraint("call_id", "asking_department", "attempt", name="uq_verification_calls_attempt"),
    )
    op.create_index(op.f("ix_verification_calls_item_code"), "verification_calls", ["item_code"])
    op.create_index(op.f("ix_verification_calls_asking_department"), "verification_calls", ["asking_department"])
    op.create_table(
        "delivery_days",
        sa.Column("delivery_code", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("deliverer", sa.String(64), nullable=False),
        sa.Column("receiver", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_at", AwareDateTime(), nullable=False),
        sa.Column("delivered_at", AwareDateTime(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=True),
        sa.Column("rejections", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", AwareDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("delivery_code", "day", name=op.f("pk_delivery_days")),
    )
    op.create_index(op.f("ix_delivery_days_deliverer"), "delivery_days", ["deliverer"])
    op.create_table(
        "joint_handlings",
        sa.Column("joint_id", sa.String(200), nullable=False),
        sa.Column("matter_code", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_at", AwareDateTime(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", AwareDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("joint_id", name=op.f("pk_joint_handlings")),
    )
    op.create_index(op.f("ix_joint_handlings_matter_code"), "joint_handlings", ["matter_code"])


def downgrade() -> None:
    op.drop_index(op.f("ix_joint_handlings_matter_code"), table_name="joint_handlings")
    op.drop_table("joint_handlings")
    op.drop_index(op.f("ix_delivery_days_deliverer"), table_name="delivery_days")
    op.drop_table("delivery_days")
    op.drop_index(op.f("ix_verification_calls_asking_department"), table_name="verification_calls")
    op.drop_index(op.f("ix_verification_calls_item_code"), table_name="verification_calls")
    op.drop_table("verification_calls")
    op.drop_table("joint_matters")
    op.drop_index(op.f("ix_scheduled_deliveries_deliverer"), table_name="scheduled_deliveries")
    op.drop_table("scheduled_deliveries")
    op.drop_index(op.f("ix_shared_items_department_code"), table_name="shared_items")
    op.drop_table("shared_items")
