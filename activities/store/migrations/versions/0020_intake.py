"""Intake channels in the registry, and the channel records taken in with the cases they became.

Revision ID: 0020_intake
Revises: 0016_audit_roles_lowercase
"""

import sqlalchemy as sa
from alembic import op

from activities.store.base import AwareDateTime

revision = "0020_intake"
down_revision = "0019_joint_meetings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_channels",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("department_code", sa.String(64), nullable=False),
        sa.Column("pushes", sa.Boolean(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("localities", sa.JSON(), nullable=False),
        sa.Column("address_localities", sa.JSON(), nullable=False),
        sa.Column("unplaced_matter", sa.String(64), nullable=False),
        sa.Column("unplaced_locality", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", AwareDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('hotline', 'rating', 'window', 'prepaid_card')", name=op.f("ck_intake_channels_kind")
        ),
        sa.ForeignKeyConstraint(
            ["department_code"], ["departments.code"], name=op.f("fk_intake_channels_department_code_departments")
        ),
        sa.ForeignKeyConstraint(
            ["unplaced_matter"],
            ["collaboration_matters.code"],
            name=op.f("fk_intake_channels_unplaced_matter_collaboration_matters"),
        ),
        sa.ForeignKeyConstraint(
            ["unplaced_locality"], ["departments.code"], name=op.f("fk_intake_channels_unplaced_locality_departments")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_intake_channels")),
    )
    op.create_index(op.f("ix_intake_channels_department_code"), "intake_channels", ["department_code"])
    op.create_table(
        "intake_records",
        sa.Column("channel_code", sa.String(64), nullable=False),
        sa.Column("record_number", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(200), nullable=False),
        sa.Column("matter_code", sa.String(64), nullable=False),
        sa.Column("locality_code", sa.String(64), nullable=False),
        sa.Column("placed", sa.Boolean(), nullable=False),
        sa.Column("unplaced_reason", sa.String(500), nullable=True),
        sa.Column("contact_kind", sa.String(16), nullable=True),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("consent_at", AwareDateTime(), nullable=True),
        sa.Column("verification_code", sa.Text(), nullable=False),
        sa.Column("last_event", sa.String(32), nullable=True),
        sa.Column("last_event_at", AwareDateTime(), nullable=True),
        sa.Column("last_progress", sa.Text(), nullable=True),
        sa.Column("received_at", AwareDateTime(), nullable=False),
        sa.Column("created_at", AwareDateTime(), nullable=False),
        sa.CheckConstraint("contact_kind IN ('mobile', 'user_id')", name=op.f("ck_intake_records_contact_kind")),
        sa.ForeignKeyConstraint(
            ["channel_code"], ["intake_channels.code"], name=op.f("fk_intake_records_channel_code_intake_channels")
        ),
        sa.PrimaryKeyConstraint("channel_code", "record_number", name=op.f("pk_intake_records")),
        sa.UniqueConstraint("case_id", name=op.f("uq_intake_records_case_id")),
    )


def downgrade() -> None:
    op.drop_table("intake_records")
    op.drop_index(op.f("ix_intake_channels_department_code"), table_name="intake_channels")
    op.drop_table("intake_channels")
