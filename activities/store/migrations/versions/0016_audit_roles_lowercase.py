"""The audit trail spells every actor's role one way, as cases always did: hand-offs wrote theirs in capitals
(`COORDINATOR`, `SYSTEM`), and their rows are rewritten in lower case (`coordinator`, `system`).

Revision ID: 0016_audit_roles_lowercase
Revises: 0015_reconciliation_reports
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_audit_roles_lowercase"
down_revision = "0015_reconciliation_reports"
branch_labels = None
depends_on = None

# The roles hand-offs wrote in capitals; a role outside it is left as it is, in either direction.
_HANDOFF_ROLES = ("RECEIVER", "ORIGINATOR", "COORDINATOR", "SYSTEM")

_audit = sa.table(
    "audit_trail",
    sa.column("subject_id", sa.String),
    sa.column("subject_kind", sa.String),
    sa.column("actor", sa.String),
)


def upgrade() -> None:
    op.execute(_audit.update().where(_audit.c.actor.in_(_HANDOFF_ROLES)).values(actor=sa.func.lower(_audit.c.actor)))


def downgrade() -> None:
    # Cases wrote their roles in lower case from the start: only a hand-off's rows (and the rows of its supervision
    # orders, whose ids begin with the hand-off's) go back to capitals.
    audit = _audit
    of_handoffs = sa.or_(
        audit.c.subject_kind == "handoff",
        sa.and_(audit.c.subject_kind == "supervision_order", audit.c.subject_id.like("handoff-%")),
    )
    lower_roles = tuple(role.lower() for role in _HANDOFF_ROLES)
    op.execute(
        audit.update().where(of_handoffs, audit.c.actor.in_(lower_roles)).values(actor=sa.func.upper(audit.c.actor))
    )
