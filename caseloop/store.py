"""The store as the CLI and the SDK reach it directly: an outage or an unmigrated store is said plainly.

Messages name the store by its URL without the password, and never carry the driver's own text: it may hold the
URL's credentials, or a query's parameters (names, ID numbers).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store import migrate
from activities.store.db import create_engine, create_session_factory, redacted_url
from caseloop.errors import CommandError, Unreachable
from caseloop.store_peek import NO_STORE
from workers.settings import get_settings

# SQLSTATE classes (PostgreSQL appendix A) that say the store cannot be used at all, and in what words.
UNUSABLE = {
    "08": "the connection failed",  # connection exception
    "28": "it refused the login (check the user and password in the store URL)",  # invalid authorization
    "3D": "it has no such database",  # invalid catalog name
    "53": "it has no room for another connection",  # insufficient resources, e.g. too many connections
    "57": "it is shutting down or starting up",  # operator intervention
}


@contextmanager
def store_errors(url: str) -> Iterator[None]:
    """Turns connection failures into Unreachable (exit 4) and schema failures into CommandError (exit 1)."""
    where = redacted_url(url)
    try:
        yield
    except BrokenPipeError:
        raise  # our own output's reader went away, not the store
    except OSError as error:
        raise Unreachable(f"the store at {where} cannot be reached: {_unreached(error)}") from None
    except DBAPIError as error:
        sqlstate = str(getattr(error.orig, "sqlstate", None) or "")
        if error.connection_invalidated or isinstance(error.orig, OSError):
            raise Unreachable(f"the store at {where} cannot be reached: the connection broke off") from None
        if sqlstate[:2] in UNUSABLE:
            raise Unreachable(f"the store at {where} cannot be used: {UNUSABLE[sqlstate[:2]]}") from None
        code = f", SQLSTATE {sqlstate}" if sqlstate else ""
        raise CommandError(
            f"the store at {where} refused the query ({type(error.orig).__name__}{code}); "
            "if it is new or an older caseloop made it, run `caseloop db upgrade`"
        ) from None


def _unreached(error: OSError) -> str:
    if isinstance(error, socket.gaierror):
        return "its host name does not resolve"
    if isinstance(error, ConnectionRefusedError):
        return "nothing accepts connections there"
    if isinstance(error, TimeoutError):
        return "it did not answer in time"
    return "no connection could be made"


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


async def why_no_store(url: str | None = None) -> str | None:
    """Why the store of the settings (or `url`) holds nothing to read, or None when it is there and migrated.

    For commands that read the store only for what an operator may have added (calendar overrides): a machine
    with no stack, or a shell outside the stack's data directory, has no store, and none is created by asking.
    A store that cannot be reached is not "nothing": that is Unreachable, as for every command.
    """
    url = url or get_settings().resolved_store_url
    missing = _missing_file(url)
    if missing is not None:
        return NO_STORE.format(path=missing)
    with store_errors(url):
        revision = await migrate.current_revision(url)
    if revision is None:
        return f"the store at {redacted_url(url)} is not migrated yet (`caseloop db upgrade` migrates it)"
    return None


def _missing_file(url: str) -> Path | None:
    """The SQLite file a URL names, when it does not exist (connecting would create it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    return None if path.is_file() else path
