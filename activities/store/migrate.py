"""Runs the store's Alembic migrations from code (`caseloop db upgrade`, `caseloop up`, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from activities.store.db import create_engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


async def upgrade(url: str, revision: str = "heads") -> str | None:
    """Migrates the store at `url` to `revision` and returns the revision it is at afterwards."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))
            return await conn.run_sync(_current_revision)
    finally:
        await engine.dispose()


async def downgrade(url: str, revision: str) -> str | None:
    """Migrates the store at `url` down to `revision` ("base" empties it)."""
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
    return ",".join(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))


def _current_revision(connection: Connection) -> str | None:
    heads = MigrationContext.configure(connection).get_current_heads()
    return ",".join(sorted(heads)) or None
