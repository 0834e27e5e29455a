"""Alembic environment: always runs on a connection handed in by activities.store.migrate."""

from __future__ import annotations

from alembic import context

from activities.store import models  # noqa: F401  (registers every table on Base.metadata)
from activities.store.base import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `caseloop db upgrade`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite alters tables by copy-and-move
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
