"""The hand-off read model holds the SLA colour the hand-off publishes (CaseloopSlaColour), so the metrics
collector can count open hand-offs by colour as it counts cases. Rows written before hold none until their
hand-off's next transition writes them again.

Revision ID: 0022_handoff_sla_colour
Revises: 0021_collaboration
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_handoff_sla_colour"
down_revision = "0021_collaboration"
branch_labels = None
depends_on = None

_OPEN = sa.text("closed_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("handoff_records") as batch:
        batch.add_column(sa.Column("sla_colour", sa.String(40), nullable=True))
    op.drop_index("ix_handoff_records_open", "handoff_records")
    op.create_index(
        "ix_handoff_records_open",
        "handoff_records",
        ["stage", "sla_colour", "target_department", "locality", "next_due_at"],
        postgresql_where=_OPEN,
        sqlite_where=_OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_handoff_records_open", "handoff_records")
    op.create_index(
        "ix_handoff_records_open",
        "handoff_records",
        ["stage", "target_department", "locality", "next_due_at"],
        postgresql_where=_OPEN,
        sqlite_where=_OPEN,
    )
    with op.batch_alter_table("handoff_records") as batch:
        batch.drop_column("sla_colour")
