"""The store's migrations form one line and run from empty to head, and back, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect

from activities.store import migrate
from activities.store.db import create_engine


def test_history_has_one_head() -> None:
    assert "," not in migrate.head_revisions(), "merge the branches: a new migration must revise the single head"


async def test_upgrade_downgrade_upgrade(store_url: str) -> None:
    # store_url is already at head; going down to nothing and up again proves both directions work.
    assert await migrate.current_revision(store_url) == migrate.head_revisions()
    await migrate.downgrade(store_url, "base")
    engine = create_engine(store_url)
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    await engine.dispose()
    assert set(tables) <= {"alembic_version"}
    assert await migrate.upgrade(store_url) == migrate.head_revisions()
