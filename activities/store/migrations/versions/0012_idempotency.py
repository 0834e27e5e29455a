"""The front door's Idempotency-Key records: a retried request answers its first result.

Revision ID: 0012_idempotency
Revises: 0011_audit_credentials
"""

revision = "0012_idempotency"
down_revision = "0011_audit_credentials"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
