"""What activities need from the process (database engine, HTTP client, settings), opened and closed once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from activities.store.db import create_engine, create_session_factory
from workers.settings import Settings


@dataclass(frozen=True)
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient


@asynccontextmanager
async def open_resources(settings: Settings, store_url: str | None = None) -> AsyncIterator[Resources]:
    engine = create_engine(store_url or settings.resolved_store_url, keyring=settings.payload_keyring())
    http = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
    try:
        yield Resources(settings=settings, engine=engine, sessions=create_session_factory(engine), http=http)
    finally:
        await http.aclose()
        await engine.dispose()
