"""One writer at a time per embedded SQLite file in a process: write transactions queue on an asyncio lock.

SQLite has one write lock per database file. The worker runs activities side by side, each in its own transaction;
without a queue they meet in SQLite's busy handler, which polls with sleeps growing to 100 ms, so the lock often sits
free while its next owner sleeps. Here a transaction's first write statement (INSERT, UPDATE, DELETE, REPLACE or
DDL) waits for a per-file `asyncio.Lock` of the process, on the event loop, and the lock passes on as soon as the
holder's COMMIT or ROLLBACK has returned (or its connection closes). The lock is taken exactly where SQLite's own
write lock is: the driver (sqlite3, legacy transaction control) opens its transaction just before the first write
statement and runs reads in autocommit, so readers stay concurrent (WAL) and a session that reads then writes takes
the lock at its first write, as before, never while holding a read snapshot.

Across processes (the door and the worker write the same file) a connection's own wait for a lock SQLite answers
busy stays the arbiter (`activities.store.inline`: retried after asynchronous pauses, up to the busy timeout); so it
does inside a process whenever queueing could only wait on itself: a task that writes on a second connection while
its own first write transaction is open, or a wait longer than the busy timeout (a holder that never ends), goes on
to SQLite unqueued, which then answers as it did without the queue. PostgreSQL engines are never given a queue.
"""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000  # the wait for a lock another process (or an unqueued connection) holds

_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)


class WriteQueue:
    """The write lock of one SQLite file in one event loop, and the DBAPI connection that holds it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self.loop = loop
        self._timeout = timeout
        self._lock = asyncio.Lock()
        self.holder: Any = None  # the driver connection whose write transaction is open
        self._holder_task: asyncio.Task[Any] | None = None
        self.queued = 0  # write transactions that took the lock (for tests and measurements)
        self.unqueued = 0  # write transactions left to SQLite's busy handler (see the module's docstring)

    async def acquire(self, connection: Any) -> None:
        task = asyncio.current_task()
        if self.holder is not None and self._holder_task is task:
            self.unqueued += 1  # its own open write would be what it waits for
            return
        try:
            async with asyncio.timeout(self._timeout):
                await self._lock.acquire()
        except TimeoutError:
            self.unqueued += 1
            logger.warning("a store write waited %.0f s for this process's write queue; left to SQLite", self._timeout)
            return
        self.holder, self._holder_task = connection, task
        self.queued += 1

    def release(self, connection: Any) -> None:
        if self.holder is connection:
            self.holder, self._holder_task = None, None
            self._lock.release()


_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, WriteQueue]] = weakref.WeakKeyDictionary()


def write_queue(path: str, loop: asyncio.AbstractEventLoop | None = None) -> WriteQueue:
    """The queue of the SQLite file `path` in `loop` (the running one by default): one per file and loop."""
    loop = loop or asyncio.get_running_loop()
    of_loop = _queues.setdefault(loop, {})
    if path not in of_loop:
        of_loop[path] = WriteQueue(loop, BUSY_TIMEOUT_MS / 1000)
    return of_loop[path]


def database_file(url: URL) -> str | None:
    """The file an SQLite URL names, resolved, or None for an in-memory database (nothing to share a lock with)."""
    database = url.database or ""
    if database.startswith("file:"):
        database, _, options = database[len("file:") :].partition("?")
        if "mode=memory" in options:
            return None
    if database in ("", ":memory:") or url.query.get("mode") == "memory":
        return None
    return str(Path(database).resolve())


def queue_writes(engine: AsyncEngine) -> None:
    """Makes the write transactions of a SQLite `engine` queue in-process on its file's lock (the module's
    docstring); does nothing for another database or an in-memory one."""
    if engine.dialect.name != "sqlite":
        return
    path = database_file(engine.url)
    if path is None:
        return
    sync_engine = engine.sync_engine

    def before_cursor_execute(
        conn: Connection,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        context: DefaultExecutionContext | None,
        _executemany: bool,
    ) -> None:
        if not _is_write(statement, context):
            return
        connection = _driver_connection(conn.connection)
        try:
            queue = write_queue(path)
        except RuntimeError:  # no running loop: nothing to queue on
            return
        if queue.holder is connection:
            return
        try:
            await_only(queue.acquire(connection))
        except exc.MissingGreenlet:  # called outside the async engine's greenlet: SQLite's busy handler decides
            return

    event.listen(sync_engine, "before_cursor_execute", before_cursor_execute)
    dialect = sync_engine.dialect
    for name in ("do_commit", "do_rollback", "do_close", "do_terminate"):
        setattr(dialect, name, _releasing(getattr(dialect, name), path))


def _is_write(statement: str, context: DefaultExecutionContext | None) -> bool:
    if context is not None and (context.isinsert or context.isupdate or context.isdelete or context.isddl):
        return True
    return _WRITE.match(statement) is not None


def _driver_connection(connection: Any) -> Any:
    """The driver's connection under a pool's proxy (the dialect's do_* get either)."""
    return getattr(connection, "dbapi_connection", connection)


def _releasing(method: Callable[..., Any], path: str) -> Callable[..., Any]:
    def released_after(dbapi_connection: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(dbapi_connection, *args, **kwargs)
        finally:
            _release(_driver_connection(dbapi_connection), path)

    return released_after


def _release(connection: Any, path: str) -> None:
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    for loop, of_loop in list(_queues.items()):
        queue = of_loop.get(path)
        if queue is None or queue.holder is not connection:
            continue
        if loop is running:
            queue.release(connection)
        elif not loop.is_closed():  # a pool cleaning up from another thread: release on the lock's own loop
            loop.call_soon_threadsafe(queue.release, connection)
