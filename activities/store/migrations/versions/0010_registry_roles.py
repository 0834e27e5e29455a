"""The registry names each matter's coordinator and supervisors, per matter or per locality.

Revision ID: 0010_registry_roles
Revises: 0009_credentials
"""

revision = "0010_registry_roles"
down_revision = "0009_credentials"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
