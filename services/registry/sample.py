"""The sample registry for Suqian that a fresh embedded stack starts with."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store.registry import RegistryRepository
from schemas.registry import ImportSummary
from services.registry.importer import import_registry

# Shipped inside the package so an installed wheel finds it as well as a checkout.
SAMPLE_REGISTRY = Path(__file__).with_name("suqian.yaml")


async def load_sample_registry_if_empty(
    sessions: async_sessionmaker[AsyncSession], path: Path = SAMPLE_REGISTRY
) -> ImportSummary | None:
    """Imports the sample when the store has no department yet; None when it already holds a registry."""
    async with sessions() as session:
        if not await RegistryRepository(session).is_empty():
            return None
    return await import_registry(sessions, [path])
