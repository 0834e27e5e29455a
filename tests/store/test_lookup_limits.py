"""The status lookup's rate limit in the store, on SQLite and PostgreSQL: a sliding minute per client address,
counted atomically, its rows bounded to the last two minutes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store.lookup_limits import LookupLimitRepository, StatusLookupWindow, address_key

T0 = datetime(2026, 11, 30, 9, 0, 0, tzinfo=UTC)  # on a minute


async def admit(sessions: async_sessionmaker[AsyncSession], address: str, at: datetime, limit: int) -> float | None:
    async with sessions.begin() as session:
        return await LookupLimitRepository(session).admit(address, at, limit)


async def test_an_address_gets_its_limit_a_sliding_minute(sessions: async_sessionmaker[AsyncSession]) -> None:
    seconds = [0, 20, 40]
    assert [await admit(sessions, "10.0.0.1", T0 + timedelta(seconds=s), 3) for s in seconds] == [None] * 3
    assert await admit(sessions, "10.0.0.1", T0 + timedelta(seconds=50), 3) == 10.0
    assert await admit(sessions, "10.0.0.2", T0 + timedelta(seconds=50), 3) is None  # another address
    # The next minute begins: the last one's four lookups still count in full at its start, then fade.
    assert await admit(sessions, "10.0.0.1", T0 + timedelta(seconds=61), 3) is not None
    assert await admit(sessions, "10.0.0.1", T0 + timedelta(seconds=119), 3) is None
    assert await admit(sessions, "10.0.0.1", T0 + timedelta(minutes=5), 3) is None


async def test_concurrent_lookups_are_each_counted(sessions: async_sessionmaker[AsyncSession]) -> None:
    answers = await asyncio.gather(*(admit(sessions, "10.0.0.3", T0, 5) for _ in range(8)))
    assert sum(answer is None for answer in answers) == 5
    async with sessions() as session:
        row = await session.get(StatusLookupWindow, (address_key("10.0.0.3"), int(T0.timestamp() // 60)))
    assert row is not None and row.lookups == 8


async def test_rows_older_than_the_last_minute_go(sessions: async_sessionmaker[AsyncSession]) -> None:
    for index in range(5):
        await admit(sessions, f"10.0.1.{index}", T0, 3)
    await admit(sessions, "10.0.2.1", T0 + timedelta(minutes=1), 3)
    await admit(sessions, "10.0.2.2", T0 + timedelta(minutes=2), 3)
    async with sessions() as session:
        minutes = (await session.scalars(select(StatusLookupWindow.minute))).all()
        count = await session.scalar(select(func.count()).select_from(StatusLookupWindow))
    assert count == 2 and set(minutes) == {int(T0.timestamp() // 60) + 1, int(T0.timestamp() // 60) + 2}
