"""The embedded store's connections run SQLite's calls inline: a write transaction never hands the event loop a turn
while it holds the file's lock, and a lock another process holds is waited for without stopping the loop."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from activities.store.db import create_engine, create_session_factory
from activities.store.inline import InlineConnection
from activities.store.writer import database_file, write_queue

# Another process takes the file's write lock, says so, and keeps it until its stdin has a line.
HOLDER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
connection.execute("INSERT INTO notes (id, note) VALUES (100, 'the other process')")
print("held", flush=True)
sys.stdin.readline()
connection.execute("COMMIT")
"""


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


async def _engine(database: Path, query: str = "") -> AsyncEngine:
    engine = create_engine(f"sqlite+aiosqlite:///{database}{query}", keyring=None)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, note TEXT)"))
    return engine


@pytest.fixture
async def engine(database: Path) -> AsyncIterator[AsyncEngine]:
    engine = await _engine(database)
    yield engine
    await engine.dispose()


@pytest.fixture
def holder(database: Path, engine: AsyncEngine) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(database)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    yield process
    process.kill()
    process.wait()


async def _driver(connection: AsyncConnection) -> InlineConnection:
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, InlineConnection)
    return driver


class Ticker:
    """Counts the event loop's turns while it runs, and those it ran while the store's write lock was held."""

    def __init__(self, engine: AsyncEngine | None = None) -> None:
        path = database_file(engine.url) if engine is not None else None
        self._queue = write_queue(path) if path is not None else None
        self.turns = self.held = 0
        self._task = asyncio.create_task(self._tick())

    async def _tick(self) -> None:
        while True:
            self.turns += 1
            if self._queue is not None and self._queue.holder is not None:
                self.held += 1
            await asyncio.sleep(0)

    def stop(self) -> None:
        self._task.cancel()


async def test_a_write_transaction_never_hands_the_loop_a_turn_while_it_holds_the_lock(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)
    ticker = Ticker(engine)
    for _ in range(3):
        async with sessions.begin() as session:
            for _ in range(20):
                await session.execute(text("INSERT INTO notes (note) VALUES ('inline')"))
            await session.execute(text("UPDATE notes SET note = 'updated' WHERE id < 10"))
            assert ticker.held == 0
        async with engine.begin() as connection:  # the engine's own transaction as well
            await connection.execute(text("DELETE FROM notes WHERE id > 50"))
            driver = await _driver(connection)
    for _ in range(10):
        await asyncio.sleep(0)
    ticker.stop()
    assert ticker.held == 0  # 23 statements a transaction, and the lock was free at every turn of the loop
    async with sessions() as session:
        assert await session.scalar(text("SELECT count(*) FROM notes")) == 50
    assert driver.busy_retries == 0
    assert not driver._thread.is_alive()  # no driver thread was started


async def test_a_lock_another_process_holds_is_waited_for_while_the_loop_runs_on(
    engine: AsyncEngine, holder: subprocess.Popen[str]
) -> None:
    async with engine.connect() as connection:
        driver = await _driver(connection)

        async def write() -> None:
            await connection.execute(text("INSERT INTO notes (id, note) VALUES (1, 'this process')"))
            await connection.commit()

        writing = asyncio.create_task(write())
        ticker = Ticker()
        for _ in range(5000):  # until SQLite has answered busy three times (at most the busy timeout)
            if driver.busy_retries >= 3:
                break
            await asyncio.sleep(0.001)
        assert driver.busy_retries >= 3
        assert not writing.done()
        assert ticker.turns > 0
        ticker.stop()
        assert holder.stdin is not None
        holder.stdin.write("release\n")
        holder.stdin.flush()
        await writing
        rows = (await connection.execute(text("SELECT id FROM notes ORDER BY id"))).scalars().all()
    assert rows == [1, 100]


async def test_a_lock_never_released_fails_after_the_urls_timeout_and_writes_nothing(
    database: Path, holder: subprocess.Popen[str]
) -> None:
    engine = await _engine(database, "?timeout=0.05")
    try:
        with pytest.raises(OperationalError, match="database is locked"):
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO notes (id, note) VALUES (2, 'given up')"))
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM notes"))).scalar_one() == 0
    finally:
        await engine.dispose()
