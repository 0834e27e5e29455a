"""Whether a migrated store holds a table as its model describes it: alembic's comparison, narrowed to one table."""

from __future__ import annotations

import warnings
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from activities.store import models  # noqa: F401  (registers every table)
from activities.store.base import Base
from activities.store.db import create_engine


async def model_differences(store_url: str, table: str) -> list[Any]:
    """What alembic finds different between the store at `store_url` and the models, about `table`."""
    engine = create_engine(store_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_compare)
    finally:
        await engine.dispose()
    return [difference for difference in differences if table in repr(difference)]


def _compare(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLite cannot reflect every index the models declare
        return list(compare_metadata(context, Base.metadata))
