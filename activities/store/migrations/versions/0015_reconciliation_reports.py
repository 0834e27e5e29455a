"""A reconciliation keeps one row per overdue loop instead of one document: a month's letter may list thousands.

Revision ID: 0015_reconciliation_reports
Revises: 0014_encrypted_fields
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from activities.store.base import AwareDateTime

revision = "0015_reconciliation_reports"
down_revision = "0014_encrypted_fields"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Runs recorded from now on keep their loops in rows; earlier runs keep their document. (Altered first: SQLite
    # rebuilds the table, which a table referring to it would forbid.)
    with op.batch_alter_table("handoff_reconciliations") as batch:
        batch.alter_column("report", existing_type=sa.JSON(), nullable=True)
    op.create_table(
        "handoff_reconciliation_loops",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reconciliation_id", sa.Integer(), nullable=False),
        sa.Column("department_code", sa.String(64), nullable=False),
        sa.Column("handoff_id", sa.String(200), nullable=False),
        sa.Column("matter_code", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(32), nullable=False),
        sa.Column("stage", sa.String(40), nullable=False),
        sa.Column("source_department", sa.String(64), nullable=False),
        sa.Column("receiver_code", sa.String(64), nullable=True),
        sa.Column("end_to_end_due_at", AwareDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_reconciliation_loops")),
        sa.ForeignKeyConstraint(
            ["reconciliation_id"],
            ["handoff_reconciliations.id"],
            name=op.f("fk_handoff_reconciliation_loops_reconciliation_id_handoff_reconciliations"),
        ),
    )
    op.create_index(
        "ix_handoff_reconciliation_loops_report",
        "handoff_reconciliation_loops",
        ["reconciliation_id", "department_code"],
    )


def downgrade() -> None:
    # Each run's loops fold back into its document, as the earlier schema keeps them.
    bind = op.get_bind()
    runs = bind.execute(sa.text("SELECT id, as_of FROM handoff_reconciliations WHERE report IS NULL")).all()
    for run_id, as_of in runs:
        rows = bind.execute(
            sa.text(
                "SELECT department_code, handoff_id, matter_code, direction, stage, source_department, receiver_code, "
                "end_to_end_due_at FROM handoff_reconciliation_loops WHERE reconciliation_id = :run "
                "ORDER BY department_code, end_to_end_due_at, id"
            ),
            {"run": run_id},
        ).all()
        departments: dict[str, list[dict[str, object]]] = {}
        for code, handoff_id, matter, direction, stage, source, receiver, due in rows:
            due_at, at = _instant(due), _instant(as_of)
            departments.setdefault(code, []).append(
                {
                    "handoff_id": handoff_id,
                    "matter_code": matter,
                    "direction": direction,
                    "stage": stage,
                    "source_department": source,
                    "receiver_code": receiver,
                    "end_to_end_due_at": due_at.isoformat(),
                    "overdue_by": f"PT{int((at - due_at).total_seconds())}S",
                }
            )
        report = {"departments": [{"department_code": code, "loops": loops} for code, loops in departments.items()]}
        bind.execute(
            sa.text("UPDATE handoff_reconciliations SET report = :report WHERE id = :run"),
            {"report": json.dumps(report), "run": run_id},
        )
    op.drop_index("ix_handoff_reconciliation_loops_report", table_name="handoff_reconciliation_loops")
    op.drop_table("handoff_reconciliation_loops")
    with op.batch_alter_table("handoff_reconciliations") as batch:
        batch.alter_column("report", existing_type=sa.JSON(), nullable=False)


def _instant(value: datetime | str) -> datetime:
    """A stored instant as read without the model's type: SQLite answers text, in UTC."""
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
