"""Write transactions of one process queue for an embedded SQLite file instead of meeting in SQLite's busy handler.

The wait for a busy lock is set to 0 here (`timeout=0` in the URL): a write that found the file's lock taken would
fail at once with "database is locked" instead of waiting for it, so every commit below proves it never waited.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.store.db import create_engine, create_session_factory
from activities.store.writer import database_file, write_queue

WRITERS = 40


@pytest.fixture
async def engine(store_url: str) -> AsyncIterator[AsyncEngine]:
    url = make_url(store_url)
    if url.get_backend_name() == "sqlite":
        url = url.update_query_dict({"timeout": "0"})
    engine = create_engine(url.render_as_string(hide_password=False), keyring=None)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE writes (id INTEGER PRIMARY KEY, note VARCHAR(40))"))
        await connection.execute(text("CREATE TABLE tally (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
        await connection.execute(text("INSERT INTO tally (id, n) VALUES (1, 0)"))
    yield engine
    await engine.dispose()


def _queue(engine: AsyncEngine) -> Any:
    path = database_file(engine.url)
    assert path is not None
    return write_queue(path)


async def test_many_concurrent_write_transactions_all_commit(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)

    async def write(n: int) -> None:
        if n % 2:
            async with sessions.begin() as session:  # reads first, then writes, yielding in between
                await session.scalar(text("SELECT count(*) FROM writes"))
                await asyncio.sleep(0)
                await session.execute(text("INSERT INTO writes (id, note) VALUES (:id, 'begin')"), {"id": n})
                await asyncio.sleep(0)
                await session.execute(text("UPDATE tally SET n = n + 1 WHERE id = 1"))
        else:
            async with sessions() as session:  # the explicit commit's way
                await session.execute(text("INSERT INTO writes (id, note) VALUES (:id, 'commit')"), {"id": n})
                await asyncio.sleep(0)
                await session.execute(text("UPDATE tally SET n = n + 1 WHERE id = 1"))
                await session.commit()

    await asyncio.gather(*(write(n) for n in range(WRITERS)))

    async with sessions() as session:
        assert await session.scalar(text("SELECT count(*) FROM writes")) == WRITERS
        assert await session.scalar(text("SELECT n FROM tally WHERE id = 1")) == WRITERS
    if engine.dialect.name == "sqlite":
        queue = _queue(engine)
        assert queue.unqueued == 0
        assert queue.holder is None


async def test_a_failed_or_cancelled_write_passes_the_lock_on_and_hides_its_parameters(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)
    async with sessions.begin() as session:
        await session.execute(text("INSERT INTO writes (id, note) VALUES (1, 'first')"))

    with pytest.raises(IntegrityError) as failed:
        async with sessions.begin() as session:
            again = text("INSERT INTO writes (id, note) VALUES (:id, :note)")
            await session.execute(again, {"id": 1, "note": "Li Wei"})
    assert "Li Wei" not in str(failed.value)

    holding = asyncio.Event()

    async def cancelled_mid_transaction() -> None:
        async with sessions.begin() as session:
            await session.execute(text("INSERT INTO writes (id, note) VALUES (2, 'cancelled')"))
            holding.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(cancelled_mid_transaction())
    await holding.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    async with sessions.begin() as session:
        await session.execute(text("INSERT INTO writes (id, note) VALUES (3, 'after')"))
    async with sessions() as session:
        assert (await session.scalars(text("SELECT id FROM writes ORDER BY id"))).all() == [1, 3]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_a_task_writing_on_a_second_connection_is_left_to_sqlite_not_to_wait_on_itself(
    engine: AsyncEngine,
) -> None:
    sessions = create_session_factory(engine)
    async with sessions.begin() as outer:
        await outer.execute(text("INSERT INTO writes (id, note) VALUES (1, 'outer')"))
        with pytest.raises(OperationalError, match="database is locked"):  # as without the queue, not a hang
            async with sessions.begin() as inner:
                await inner.execute(text("INSERT INTO writes (id, note) VALUES (2, 'inner')"))
    assert _queue(engine).unqueued == 1
    async with sessions() as session:
        assert (await session.scalars(text("SELECT id FROM writes"))).all() == [1]


def test_only_a_sqlite_file_gets_a_write_queue() -> None:
    postgres = create_engine("postgresql+asyncpg://caseloop@localhost/caseloop", keyring=None)
    memory = create_engine("sqlite+aiosqlite://", keyring=None)
    for engine in (postgres, memory):
        assert "do_commit" not in vars(engine.sync_engine.dialect)
    assert database_file(make_url("sqlite+aiosqlite:///file:store.db?mode=memory&uri=true")) is None
    assert database_file(make_url("sqlite+aiosqlite:///store.db")) == database_file(make_url("sqlite:///./store.db"))
