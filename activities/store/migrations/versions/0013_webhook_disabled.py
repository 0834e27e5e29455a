"""A department's webhook can be disabled: its endpoint answered 410 Gone, so pushes wait in its inbox.

Revision ID: 0013_webhook_disabled
Revises: 0012_idempotency
"""

import sqlalchemy as sa
from alembic import op

from activities.store.base import AwareDateTime

revision = "0013_webhook_disabled"
down_revision = "0012_idempotency"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("departments") as batch:
        batch.add_column(sa.Column("webhook_disabled_at", AwareDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("departments") as batch:
        batch.drop_column("webhook_disabled_at")
