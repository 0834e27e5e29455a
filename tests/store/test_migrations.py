"""The registry and ledger migrations create exactly the tables the models describe, on both databases."""

from __future__ import annotations

import warnings
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from activities.store import models  # noqa: F401  (registers every table)
from activities.store.base import Base
from activities.store.db import create_engine

OURS = {
    "departments",
    "department_functions",
    "collaboration_matters",
    "matter_parties",
    "matter_step_limits",
    "roster",
    "audit_trail",
    "case_records",
    "handoff_records",
    "supervision_orders",
    "cards",
    "score_events",
    "ratings",
    "registry_roles",
    "api_credentials",
    "idempotency_keys",
}


def _table_of(difference: Any) -> str:
    if isinstance(difference, list):  # a column's modifications come as a list
        difference = difference[0]
    kind = difference[0]
    if kind in ("add_table", "remove_table"):
        return str(difference[1].name)
    if kind in ("add_column", "remove_column") or kind.startswith("modify_"):
        return str(difference[2])
    return str(difference[1].table.name)  # an index or a constraint


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    with warnings.catch_warnings():
        # SQLite cannot reflect the roster's expression index; the roster tests exercise it instead.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        differences = compare_metadata(context, Base.metadata)
    return [d for d in differences if _table_of(d) in OURS]


async def test_models_match_the_migrated_store(store_url: str) -> None:
    engine = create_engine(store_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []
