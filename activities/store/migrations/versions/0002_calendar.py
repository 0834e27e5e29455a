"""Legal calendar overrides: a year's days off and make-up working days, and localities' office hours.

Revision ID: 0002_calendar
Revises: 0001_foundation
"""

import sqlalchemy as sa
from alembic import op

from activities.store.base import AwareDateTime

revision = "0002_calendar"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("imported_from", sa.String(500), nullable=False),
        sa.Column("imported_at", AwareDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_calendar_years")),
    )
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(
            ["year"],
            ["calendar_years.year"],
            name=op.f("fk_calendar_days_year_calendar_years"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_days")),
    )
    op.create_index(op.f("ix_calendar_days_year"), "calendar_days", ["year"])
    op.create_table(
        "office_hours",
        sa.Column("locality", sa.String(64), nullable=False),
        sa.Column("season", sa.String(100), nullable=False),
        sa.Column("starts_on", sa.String(5), nullable=True),
        sa.Column("ends_on", sa.String(5), nullable=True),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("imported_at", AwareDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("locality", "season", name=op.f("pk_office_hours")),
    )


def downgrade() -> None:
    op.drop_table("office_hours")
    op.drop_index(op.f("ix_calendar_days_year"), table_name="calendar_days")
    op.drop_table("calendar_days")
    op.drop_table("calendar_years")
