"""Joins the four branches that the calendar, ledger, delivery and hand-off work grew from 0001 in parallel.

From here on the store has one line of history: a new migration revises 0007_one_line.

Revision ID: 0007_one_line
Revises: 0002_calendar, 0004_ledger, 0005_delivery, 0006_handoff
"""

revision = "0007_one_line"
down_revision = ("0002_calendar", "0004_ledger", "0005_delivery", "0006_handoff")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
