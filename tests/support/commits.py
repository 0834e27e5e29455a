"""Counting the transactions a store commits while a test's block runs (group commits share one)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


@contextmanager
def commits_of(sessions: async_sessionmaker[AsyncSession]) -> Iterator[list[object]]:
    """The connections of every COMMIT on `sessions`' engine while the block runs, one per transaction."""
    commits: list[object] = []

    def committed(connection: object) -> None:
        commits.append(connection)

    engine = sessions.kw["bind"].sync_engine
    event.listen(engine, "commit", committed)
    try:
        yield commits
    finally:
        event.remove(engine, "commit", committed)
