"""Delivery attempts that arrive together are written in one transaction, each returning once its row is stored."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store.delivery import AttemptRecorder, DeliveryAttempt, DeliveryAttemptRepository


def attempt(push_id: str | None) -> DeliveryAttempt:
    return DeliveryAttempt(
        push_id=push_id,
        department_code="SQ-ZJJ",
        attempt=1,
        channel="webhook",
        outcome="delivered",
        status_code=200,
        workflow_id="handoff-1",
        attempted_at=datetime(2026, 11, 30, 9, tzinfo=UTC),
    )


async def stored(sessions: async_sessionmaker[AsyncSession], push_id: str) -> int:
    async with sessions() as session:
        return len(await DeliveryAttemptRepository(session).for_push(push_id))


async def test_attempts_arriving_together_are_all_stored_when_each_returns(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    recorder = AttemptRecorder(sessions)
    push_ids = [f"push-{n}" for n in range(8)]
    await asyncio.gather(*(recorder.record(attempt(push_id)) for push_id in push_ids))
    assert [await stored(sessions, push_id) for push_id in push_ids] == [1] * 8
    await recorder.record(attempt("push-0"))  # a retry's attempt is another row
    assert await stored(sessions, "push-0") == 2


async def test_a_bad_row_fails_only_its_own_caller(sessions: async_sessionmaker[AsyncSession]) -> None:
    recorder = AttemptRecorder(sessions)
    results = await asyncio.gather(
        *(recorder.record(attempt(push_id)) for push_id in ("good-1", None, "good-2", "good-3")),
        return_exceptions=True,
    )
    assert results[0] is None and results[2] is None and results[3] is None
    assert isinstance(results[1], IntegrityError)
    assert [await stored(sessions, push_id) for push_id in ("good-1", "good-2", "good-3")] == [1, 1, 1]
    with pytest.raises(IntegrityError):
        await recorder.record(attempt(None))
