"""A scheduled delivery's order limit: how long the deliverer has to answer the supervision order a missing day's
ladder issues it (null: the default, 5 working days). Joint matters keep theirs in their definition.

Revision ID: 0025_joint_orders
Revises: 0024_joint_more
"""

import sqlalchemy as sa
from alembic import op

revision = "0025_joint_orders"
down_revision = "0024_joint_more"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scheduled_deliveries") as batch:
        batch.add_column(sa.Column("order_limit", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scheduled_deliveries") as batch:
        batch.drop_column("order_limit")
