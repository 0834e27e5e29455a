"""Partial indexes over the open cases and hand-offs: the metrics collector groups them at every scrape, and
closed records, the great majority in a year, are then never read.

Revision ID: 0018_open_record_indexes
Revises: 0016_audit_roles_lowercase
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_open_record_indexes"
down_revision = "0016_audit_roles_lowercase"
branch_labels = None
depends_on = None

_OPEN = sa.text("closed_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_case_records_open",
        "case_records",
        ["stage", "sla_colour", "lead_department", "locality"],
        postgresql_where=_OPEN,
        sqlite_where=_OPEN,
    )
    op.create_index(
        "ix_handoff_records_open",
        "handoff_records",
        ["stage", "target_department", "locality", "next_due_at"],
        postgresql_where=_OPEN,
        sqlite_where=_OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_handoff_records_open", "handoff_records")
    op.drop_index("ix_case_records_open", "case_records")
