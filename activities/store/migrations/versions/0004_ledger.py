"""Ledger: case and hand-off read models, audit trail, supervision orders, cards, score events, ratings.

Revision ID: 0004_ledger
Revises: 0003_registry
"""

import sqlalchemy as sa
from alembic import op

from activities.store.base import AwareDateTime

revision = "0004_ledger"
down_revision = "0003_registry"
branch_labels = None
depends_on = None

ID = sa.String(200)
CODE = sa.String(64)
LABEL = sa.String(40)


def upgrade() -> None:
    op.create_table(
        "audit_trail",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_id", ID, nullable=False),
        sa.Column("subject_kind", sa.String(24), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("actor", LABEL, nullable=False),
        sa.Column("actor_id", ID, nullable=True),
        sa.Column("action", LABEL, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("from_stage", LABEL, nullable=True),
        sa.Column("to_stage", LABEL, nullable=True),
        sa.Column("at", AwareDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_trail")),
        sa.UniqueConstraint("subject_id", "seq", name=op.f("uq_audit_trail_subject_id")),
    )

    op.create_table(
        "case_records",
        sa.Column("case_id", ID, nullable=False),
        sa.Column("matter_code", CODE, nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("stage", LABEL, nullable=False),
        sa.Column("priority", LABEL, nullable=False),
        sa.Column("lead_department", CODE, nullable=True),
        sa.Column("locality", CODE, nullable=True),
        sa.Column("co_units", sa.JSON(), nullable=False),
        sa.Column("sla_colour", LABEL, nullable=False),
        sa.Column("supervision_level", LABEL, nullable=False),
        sa.Column("opened_at", AwareDateTime(), nullable=False),
        sa.Column("committed_deadline", AwareDateTime(), nullable=True),
        sa.Column("deadline_estimated", sa.Boolean(), nullable=False),
        sa.Column("next_due_at", AwareDateTime(), nullable=True),
        sa.Column("next_due_step", LABEL, nullable=True),
        sa.Column("closed_at", AwareDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", AwareDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_records")),
    )
    for column in ("matter_code", "stage", "lead_department", "locality", "next_due_at"):
        op.create_index(op.f(f"ix_case_records_{column}"), "case_records", [column])
    op.create_index("ix_case_records_stage_sla", "case_records", ["stage", "sla_colour"])

    op.create_table(
        "handoff_records",
        sa.Column("handoff_id", ID, nullable=False),
        sa.Column("matter_code", CODE, nullable=False),
        sa.Column("direction", LABEL, nullable=False),
        sa.Column("stage", LABEL, nullable=False),
        sa.Column("source_department", CODE, nullable=False),
        sa.Column("target_department", CODE, nullable=True),
        sa.Column("source_case_number", ID, nullable=True),
        sa.Column("locality", CODE, nullable=True),
        sa.Column("push_version", sa.Integer(), nullable=False),
        sa.Column("created_at", AwareDateTime(), nullable=False),
        sa.Column("pushed_at", AwareDateTime(), nullable=True),
        sa.Column("claimed_at", AwareDateTime(), nullable=True),
        sa.Column("feedback_at", AwareDateTime(), nullable=True),
        sa.Column("closed_at", AwareDateTime(), nullable=True),
        sa.Column("next_due_at", AwareDateTime(), nullable=True),
        sa.Column("next_due_step", LABEL, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", AwareDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("handoff_id", name=op.f("pk_handoff_records")),
    )
    for column in ("matter_code", "stage", "target_department"):
        op.create_index(op.f(f"ix_handoff_records_{column}"), "handoff_records", [column])

    op.create_table(
        "supervision_orders",
        sa.Column("order_id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("department_code", CODE, nullable=False),
        sa.Column("co_departments", sa.JSON(), nullable=False),
        sa.Column("level", LABEL, nullable=False),
        sa.Column("basis", sa.String(500), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("deadline", AwareDateTime(), nullable=False),
        sa.Column("issued_at", AwareDateTime(), nullable=False),
        sa.Column("received_at", AwareDateTime(), nullable=True),
        sa.Column("answered_at", AwareDateTime(), nullable=True),
        sa.Column("lifted_at", AwareDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", AwareDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_supervision_orders")),
    )
    for column in ("case_id", "department_code", "status"):
        op.create_index(op.f(f"ix_supervision_orders_{column}"), "supervision_orders", [column])

    op.create_table(
        "cards",
        sa.Column("card_id", ID, nullable=False),
        sa.Column("subject_id", ID, nullable=False),
        sa.Column("subject_kind", sa.String(24), nullable=False),
        sa.Column("department_code", CODE, nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("step", LABEL, nullable=True),
        sa.Column("due_at", AwareDateTime(), nullable=True),
        sa.Column("issued_at", AwareDateTime(), nullable=False),
        sa.Column("points", sa.Numeric(8, 2), nullable=False),
        sa.Column("score_event_id", ID, nullable=False),
        sa.Column("revoked_at", AwareDateTime(), nullable=True),
        sa.Column("revoked_by", ID, nullable=True),
        sa.Column("revocation_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("card_id", name=op.f("pk_cards")),
    )
    for column in ("subject_id", "department_code"):
        op.create_index(op.f(f"ix_cards_{column}"), "cards", [column])

    op.create_table(
        "score_events",
        sa.Column("event_id", ID, nullable=False),
        sa.Column("department_code", CODE, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("subject_id", ID, nullable=False),
        sa.Column("occurred_at", AwareDateTime(), nullable=False),
        sa.Column("points", sa.Numeric(8, 2), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_score_events")),
    )
    for column in ("subject_id", "occurred_at"):
        op.create_index(op.f(f"ix_score_events_{column}"), "score_events", [column])
    op.create_index("ix_score_events_department_occurred", "score_events", ["department_code", "occurred_at"])

    op.create_table(
        "ratings",
        sa.Column("rating_id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("department_code", CODE, nullable=False),
        sa.Column("level", sa.String(24), nullable=False),
        sa.Column("channel", LABEL, nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("rated_at", AwareDateTime(), nullable=False),
        sa.Column("score_event_id", ID, nullable=True),
        sa.PrimaryKeyConstraint("rating_id", name=op.f("pk_ratings")),
    )
    op.create_index(op.f("ix_ratings_case_id"), "ratings", ["case_id"])


def downgrade() -> None:
    tables = (
        "ratings",
        "score_events",
        "cards",
        "supervision_orders",
        "handoff_records",
        "case_records",
        "audit_trail",
    )
    for table in tables:
        op.drop_table(table)
