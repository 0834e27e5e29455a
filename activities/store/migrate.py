"""Runs the store's Alembic migrations from code (`caseloop db upgrade`, `caseloop up`, tests).

Alembic is imported by the functions that migrate, not by this module: reading the revision a store is at (every
`caseloop deadline` asks, to know whether there are overrides to read) costs no Alembic import.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from activities.store.db import create_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"  # Alembic's default, which migrations/env.py keeps


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


async def upgrade(url: str, revision: str = "heads") -> str | None:
    """Migrates the store at `url` to `revision` and returns the revision it is at afterwards."""
    from alembic import command

    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))
            return await conn.run_sync(_current_revision)
    finally:
        await engine.dispose()


async def downgrade(url: str, revision: str) -> str | None:
    """Migrates the store at `url` down to `revision` ("base" empties it)."""
    from alembic import command

    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), revision))
            return await conn.run_sync(_current_revision)
    finally:
        await engine.dispose()


async def current_revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_current_revision)
    finally:
        await engine.dispose()


def head_revisions() -> str:
    from alembic.script import ScriptDirectory

    return ",".join(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))


def _current_revision(connection: Connection) -> str | None:
    """The revisions Alembic's version table holds, as MigrationContext.get_current_heads reads them."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    heads = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    return ",".join(sorted(heads)) or None
