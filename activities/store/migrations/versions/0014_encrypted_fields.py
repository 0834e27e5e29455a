"""Personal fields are sealed at rest: case titles, push packages in the inbox, roster names and phones, audit reasons.

Revision ID: 0014_encrypted_fields
Revises: 0013_webhook_disabled
"""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

from activities.store.base import field_cipher, unseal
from activities.store.db import reseal_columns

revision = "0014_encrypted_fields"
down_revision = "0013_webhook_disabled"
branch_labels = None
depends_on = None

# table: (primary key, {column: purpose}); the purposes are bound into the ciphertext and never change.
SEALED = {
    "case_records": (["case_id"], {"title": "case_records.title"}),
    "roster": (["id"], {"person_name": "roster.person_name", "phone": "roster.phone"}),
    "inbox": (["id"], {"body": "inbox.body"}),
    "audit_trail": (["id"], {"reason": "audit_trail.reason", "on_behalf_reason": "audit_trail.on_behalf_reason"}),
}
# What the columns were before, and the PostgreSQL cast back, for the way down.
NARROW: dict[tuple[str, str], tuple[sa.types.TypeEngine[Any], str]] = {
    ("case_records", "title"): (sa.String(500), "varchar(500)"),
    ("roster", "person_name"): (sa.String(100), "varchar(100)"),
    ("roster", "phone"): (sa.String(32), "varchar(32)"),
    ("inbox", "body"): (sa.JSON(), "json"),
}
ROSTER_INDEX = "uq_roster_department_matter_role"


def upgrade() -> None:
    # Sealed values are longer than the text they hold, so their columns become TEXT. Every value already stored is
    # sealed under the newest configured key, or marked clear without one (a later `reseal` seals it then).
    for (table, name), (narrow, _) in NARROW.items():
        with _copying(table) as batch:
            batch.alter_column(name, existing_type=narrow, type_=sa.Text(), postgresql_using=f"{name}::text")
    _restore_roster_index()
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
        with _copying(table) as batch:
            batch.alter_column(name, existing_type=sa.Text(), type_=narrow, postgresql_using=f"{name}::{cast}")
    _restore_roster_index()


@contextmanager
def _copying(table: str) -> Iterator[BatchOperations]:
    """op.batch_alter_table, without SQLite's warning that the copy leaves out the roster's expression index:
    _restore_roster_index makes it again."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", f"Skipped unsupported reflection of expression-based index {ROSTER_INDEX}")
        with op.batch_alter_table(table) as batch:
            yield batch


def _restore_roster_index() -> None:
    """SQLite alters a table by copying it, and the copy loses the roster's expression index: make it again."""
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        f"CREATE UNIQUE INDEX IF NOT EXISTS {ROSTER_INDEX} ON roster (department_code, coalesce(matter_code, ''), role)"
    )
