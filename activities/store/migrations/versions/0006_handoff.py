"""Hand-off intake: reported trigger events, the hand-offs they started, and the monthly reconciliations.

Revision ID: 0006_handoff
Revises: 0001_foundation
"""

import sqlalchemy as sa
from alembic import op

from activities.store.base import AwareDateTime

revision = "0006_handoff"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

CODE = sa.String(64)
ID = sa.String(200)


def upgrade() -> None:
    op.create_table(
        "handoff_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_key", sa.String(300), nullable=False),
        sa.Column("source_department", CODE, nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(128), nullable=False),
        sa.Column("item_code", CODE, nullable=True),
        sa.Column("locality_code", CODE, nullable=True),
        sa.Column("related_handoff_id", ID, nullable=True),
        sa.Column("occurred_at", AwareDateTime(), nullable=False),
        sa.Column("received_at", AwareDateTime(), nullable=False),
        sa.Column("admitted_by", sa.String(300), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("rule", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_events")),
        sa.UniqueConstraint("event_key", name=op.f("uq_handoff_events_event_key")),
    )
    op.create_index(op.f("ix_handoff_events_source_department"), "handoff_events", ["source_department"])
    op.create_table(
        "handoff_starts",
        sa.Column("handoff_id", ID, nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", ID, nullable=False),
        sa.Column("related_handoff_id", ID, nullable=True),
        sa.Column("matter_code", CODE, nullable=False),
        sa.Column("direction", sa.String(32), nullable=False),
        sa.Column("source_department", CODE, nullable=False),
        sa.Column("receiver_code", CODE, nullable=True),
        sa.Column("end_to_end_due_at", AwareDateTime(), nullable=False),
        sa.Column("started_at", AwareDateTime(), nullable=False),
        sa.Column("start", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("handoff_id", name=op.f("pk_handoff_starts")),
        sa.ForeignKeyConstraint(
            ["event_id"], ["handoff_events.id"], name=op.f("fk_handoff_starts_event_id_handoff_events")
        ),
    )
    op.create_index(op.f("ix_handoff_starts_event_id"), "handoff_starts", ["event_id"])
    op.create_index(op.f("ix_handoff_starts_thread_id"), "handoff_starts", ["thread_id"])
    op.create_index(op.f("ix_handoff_starts_end_to_end_due_at"), "handoff_starts", ["end_to_end_due_at"])
    op.create_table(
        "handoff_reconciliations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_key", sa.String(300), nullable=False),
        sa.Column("as_of", AwareDateTime(), nullable=False),
        sa.Column("open_past_limit", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("recorded_at", AwareDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_reconciliations")),
        sa.UniqueConstraint("run_key", name=op.f("uq_handoff_reconciliations_run_key")),
    )


def downgrade() -> None:
    op.drop_table("handoff_reconciliations")
    op.drop_index(op.f("ix_handoff_starts_end_to_end_due_at"), table_name="handoff_starts")
    op.drop_index(op.f("ix_handoff_starts_thread_id"), table_name="handoff_starts")
    op.drop_index(op.f("ix_handoff_starts_event_id"), table_name="handoff_starts")
    op.drop_table("handoff_starts")
    op.drop_index(op.f("ix_handoff_events_source_department"), table_name="handoff_events")
    op.drop_table("handoff_events")
