"""The store as the CLI and the SDK reach it directly: an outage or an unmigrated store is said plainly."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store.db import create_engine, create_session_factory, redacted_url
from caseloop.errors import CommandError, Unreachable
from workers.settings import get_settings


@contextmanager
def store_errors(url: str) -> Iterator[None]:
    """Turns connection and schema failures into Unreachable (exit 4) and CommandError (exit 1)."""
    where = redacted_url(url)
    try:
        yield
    except OSError as error:
        raise Unreachable(f"the store at {where} cannot be reached: {error}") from None
    except DBAPIError as error:
        raise CommandError(
            f"the store at {where} refused the query ({error.orig}); if it is new, run `caseloop db upgrade`"
        ) from None


@asynccontextmanager
async def open_store(url: str | None = None) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the store of the settings (or `url`) for one command."""
    settings = get_settings()
    url = url or settings.resolved_store_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    try:
        with store_errors(url):
            yield create_session_factory(engine)
    finally:
        await engine.dispose()
