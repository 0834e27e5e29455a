"""More personal and free text sealed at rest: hand-off starts (the event's payload and approval record), supervision
orders' basis and content, rating comments, joint meetings' basis and outcome, card revocation reasons, score notes,
and the answers the front door keeps for Idempotency-Key retries.

Columns that were not TEXT become TEXT (a sealed value is longer than the text it holds); every value already stored
is sealed under the newest configured key, or marked clear without one (a later `activities.store.db.reseal` seals it).
Values the upgrade has not reached still read: an unmarked value reads as clear.

Revision ID: 0026_seal_more
Revises: 0025_joint_orders
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from activities.store.base import field_cipher, unseal
from activities.store.db import reseal_columns

revision = "0026_seal_more"
down_revision = "0025_joint_orders"
branch_labels = None
depends_on = None

# table: (primary key, {column: purpose}); the purposes are bound into the ciphertext and never change.
SEALED: dict[str, tuple[list[str], dict[str, str]]] = {
    "handoff_starts": (["handoff_id"], {"start": "handoff_starts.start"}),
    "supervision_orders": (
        ["order_id"],
        {"basis": "supervision_orders.basis", "content": "supervision_orders.content"},
    ),
    "ratings": (["rating_id"], {"comment": "ratings.comment"}),
    "idempotency_keys": (["department", "key"], {"body": "idempotency_keys.body"}),
    "joint_meetings": (["meeting_id"], {"basis": "joint_meetings.basis", "outcome": "joint_meetings.outcome"}),
    "cards": (["card_id"], {"revocation_reason": "cards.revocation_reason"}),
    "score_events": (["event_id"], {"note": "score_events.note"}),
}
# What the columns were before, and the PostgreSQL cast back, for the way down.
NARROW: dict[tuple[str, str], tuple[sa.types.TypeEngine[Any], str]] = {
    ("handoff_starts", "start"): (sa.JSON(), "json"),
    ("supervision_orders", "basis"): (sa.String(500), "varchar(500)"),
    ("score_events", "note"): (sa.String(500), "varchar(500)"),
}


def upgrade() -> None:
    for (table, name), (narrow, _) in NARROW.items():
        with op.batch_alter_table(table) as batch:
            batch.alter_column(name, existing_type=narrow, type_=sa.Text(), postgresql_using=f"{name}::text")
    connection = op.get_bind()
    for table, (keys, purposes) in SEALED.items():
        reseal_columns(connection, table, keys, purposes)


def downgrade() -> None:
    connection = op.get_bind()
    cipher = field_cipher(connection.dialect)
    for table, (keys, purposes) in SEALED.items():
        lightweight = sa.table(table, *(sa.column(k) for k in keys), *(sa.column(p, sa.Text()) for p in purposes))
        for row in connection.execute(sa.select(lightweight)).mappings():
            opened = {p: None if row[p] is None else unseal(row[p], purpose, cipher) for p, purpose in purposes.items()}
            connection.execute(sa.update(lightweight).where(*(lightweight.c[k] == row[k] for k in keys)).values(opened))
    for (table, name), (narrow, cast) in NARROW.items():
        with op.batch_alter_table(table) as batch:
            batch.alter_column(name, existing_type=sa.Text(), type_=narrow, postgresql_using=f"{name}::{cast}")
