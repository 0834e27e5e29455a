"""Version stamps of the legal calendar and the registry (`store_stamps`): every calendar or office-hours import,
every registry import and every webhook disabled after 410 Gone bumps its row in the same transaction, so a worker
keeps what it loaded and reloads only when the stamp moved.

Revision ID: 0027_calendar_version
Revises: 0026_seal_more
"""

import sqlalchemy as sa
from alembic import op

revision = "0027_calendar_version"
down_revision = "0026_seal_more"
branch_labels = None
depends_on = None


def upgrade() -> None:
    stamps = op.create_table(
        "store_stamps",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_store_stamps")),
    )
    op.bulk_insert(stamps, [{"name": "calendar", "version": 0}, {"name": "registry", "version": 0}])


def downgrade() -> None:
    op.drop_table("store_stamps")
