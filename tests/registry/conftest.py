"""Registry fixtures: the Suqian sample in a store on SQLite and PostgreSQL, and a writer of registry files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store.base import Base
from activities.store.registry import (
    CollaborationMatter,
    Department,
    DepartmentFunction,
    MatterParty,
    MatterStepLimit,
    RegistryRole,
    RosterEntry,
)
from services.registry.importer import import_registry
from services.registry.sample import SAMPLE_REGISTRY

REGISTRY_TABLES = [
    model.__tablename__
    for model in (
        Department,
        DepartmentFunction,
        CollaborationMatter,
        MatterParty,
        MatterStepLimit,
        RosterEntry,
        RegistryRole,
    )
]


@pytest.fixture
async def sample(sessions: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """A store holding the Suqian sample registry."""
    await import_registry(sessions, [SAMPLE_REGISTRY])
    return sessions


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[[str, dict[str, Any]], Path]:
    def write(name: str, content: dict[str, Any]) -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path

    return write


@pytest.fixture
def write_text(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(name: str, content: str) -> Path:
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        return path

    return write


async def registry_rows(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every registry table, comparable before and after an import."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with sessions() as session:
        for name in REGISTRY_TABLES:
            table = Base.metadata.tables[name]
            result = await session.execute(select(table).order_by(*table.primary_key.columns))
            rows[table.name] = [tuple(row) for row in result.all()]
    return rows


async def count(sessions: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0
