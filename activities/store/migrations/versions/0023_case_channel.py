"""The case read model carries a channel case's channel and the channel's own record number, so lists, searches and
reports find channel cases without joining the intake records. Rows written before are filled from the intake
records here; every later transition writes both. Beside it, the public status lookup's rate limit moves from each
door's memory to the store (status_lookup_windows), so doors behind a balancer count a client together.

Revision ID: 0023_case_channel
Revises: 0022_handoff_sla_colour
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_case_channel"
down_revision = "0022_handoff_sla_colour"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_records") as batch:
        batch.add_column(sa.Column("channel", sa.String(64), nullable=True))
        batch.add_column(sa.Column("channel_reference", sa.String(64), nullable=True))
    op.create_index("ix_case_records_channel", "case_records", ["channel", "channel_reference"])
    op.execute(
        """
        UPDATE case_records SET
            channel = (SELECT channel_code FROM intake_records WHERE intake_records.case_id = case_records.case_id),
            channel_reference = (
                SELECT record_number FROM intake_records WHERE intake_records.case_id = case_records.case_id
            )
        WHERE case_id IN (SELECT case_id FROM intake_records)
        """
    )
    op.create_table(
        "status_lookup_windows",
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("lookups", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("address", "minute", name=op.f("pk_status_lookup_windows")),
    )
    op.create_index(op.f("ix_status_lookup_windows_minute"), "status_lookup_windows", ["minute"])


def downgrade() -> None:
    op.drop_index(op.f("ix_status_lookup_windows_minute"), "status_lookup_windows")
    op.drop_table("status_lookup_windows")
    op.drop_index("ix_case_records_channel", "case_records")
    with op.batch_alter_table("case_records") as batch:
        batch.drop_column("channel_reference")
        batch.drop_column("channel")
