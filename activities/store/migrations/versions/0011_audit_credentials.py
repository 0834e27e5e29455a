"""Every audit row names the credential that sent the command, and an operator's reason for acting on behalf.

Revision ID: 0011_audit_credentials
Revises: 0010_registry_roles
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_audit_credentials"
down_revision = "0010_registry_roles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows written before the front door have neither: they stay NULL.
    with op.batch_alter_table("audit_trail") as batch:
        batch.add_column(sa.Column("credential_id", sa.String(200), nullable=True))
        batch.add_column(sa.Column("on_behalf_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_trail") as batch:
        batch.drop_column("on_behalf_reason")
        batch.drop_column("credential_id")
