"""SQLite connections that run each call at once, on the event loop's own thread, instead of on aiosqlite's thread.

aiosqlite runs every call of a connection (a statement, a fetch, a commit) on a thread of its own and hands the
result back through the event loop, so each statement waits for a turn of the loop on its way back. While the loop
is saturated (the 17:30 instant: hundreds of cards recorded at once) every statement of a write transaction waited
for that turn while holding the store's one write lock: a probe on the lock measured single transactions holding it
for 200-480 ms, for a few milliseconds of SQLite's own work. Here the same driver interface runs each call inline.
SQLite answers this store's statements in microseconds, a transaction no longer leaves the loop while it holds the
lock, and a statement costs no thread hand-over either way.

SQLite's busy handler would sleep on the loop's thread while another process (the door, a CLI) holds the file's
write lock, stopping every task of the loop; so these connections get no busy timeout of SQLite's, and a call that
SQLite answers SQLITE_BUSY is tried again after an asynchronous pause, the loop running on meanwhile, for as long as
the busy timeout would have waited (`BUSY_TIMEOUT_MS`), then fails as SQLite's own wait would have.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.store.writer import BUSY_TIMEOUT_MS

# SQLITE_BUSY and SQLITE_BUSY_RECOVERY: another connection holds the lock, or recovers the WAL; a later try can pass.
# SQLITE_BUSY_SNAPSHOT is left out: a transaction whose snapshot is stale cannot pass by waiting.
_RETRIED = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_BUSY | (1 << 8)})
_FIRST_PAUSE, _LONGEST_PAUSE = 0.001, 0.05


class _AtOnce:
    """aiosqlite's call queue, with each call run as it is put and its future answered at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except Exception as error:
            if future is not None and not future.done():
                future.set_exception(error)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run on the caller's thread (the module's docstring)."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], busy_timeout: float) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _AtOnce()  # type: ignore[assignment]  # the same put_nowait, without the thread
        self._busy_timeout = busy_timeout  # seconds a call SQLite answers SQLITE_BUSY is tried again for
        self.busy_retries = 0  # calls tried again (for tests and measurements)

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # no thread to start

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        give_up, pause = loop.time() + self._busy_timeout, _FIRST_PAUSE
        while True:
            try:
                return await super()._execute(fn, *args, **kwargs)
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode not in _RETRIED or loop.time() >= give_up:
                    raise
            self.busy_retries += 1
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)


def inline_connect(database: str, **kwargs: Any) -> InlineConnection:
    """`aiosqlite.connect`'s signature, for an inline connection. The URL's `timeout` (seconds, as `sqlite3.connect`
    takes it; `BUSY_TIMEOUT_MS` by default) becomes the connection's own wait for a lock; SQLite waits for none."""
    kwargs.pop("iter_chunk_size", None)
    busy_timeout = float(kwargs.pop("timeout", BUSY_TIMEOUT_MS / 1000))
    return InlineConnection(partial(sqlite3.connect, database, timeout=0, **kwargs), busy_timeout)


def run_inline(engine: AsyncEngine) -> None:
    """Makes an aiosqlite `engine` connect inline (the module's docstring)."""

    def connect(dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
        return dialect.dbapi.connect(*cargs, async_creator_fn=inline_connect, **cparams)

    event.listen(engine.sync_engine, "do_connect", connect)
