"""The Idempotency-Key records on SQLite and PostgreSQL: claim, answer again, refuse another request, release after
a 5xx, take over a stale claim, purge expired records; and the table is the migration's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store.db import engine_of
from activities.store.idempotency import COMPLETED, IdempotencyKey
from tests.support.migrations import model_differences
from workers.door.idempotency import Answer, Idempotency, fingerprint, parse_key
from workers.door.problems import DoorProblem, Kind

BASE = "https://caseloop.invalid/problems/"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 9, 24, 10, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def door_keys(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> Idempotency:
    return Idempotency(
        engine_of(sessions),
        problem_base=BASE,
        retention=timedelta(hours=24),
        stale_after=timedelta(seconds=60),
        clock=clock,
    )


async def test_a_key_answers_its_first_result_and_nothing_else(sessions: async_sessionmaker[AsyncSession]) -> None:
    clock = Clock()
    keys = door_keys(sessions, clock)
    sent: list[str] = []

    async def work(key: str) -> Answer:
        sent.append(key)
        return Answer(200, {"seq": len(sent)})

    first = await keys.run("SQ-YSB", "k1", "f1", work)
    again = await keys.run("SQ-YSB", "k1", "f1", work)
    assert (first.status_code, first.body) == (again.status_code, again.body) == (200, b'{"seq":1}')
    assert sent == ["k1"] and again.headers["idempotent-replayed"] == "true"
    assert (await keys.run("SQ-ZJJ", "k1", "f1", work)).body == b'{"seq":2}', "another department's key"
    with pytest.raises(DoorProblem) as reused:
        await keys.run("SQ-YSB", "k1", "f2", work)
    assert reused.value.kind is Kind.IDEMPOTENCY_KEY_REUSED

    async def refused(_key: str) -> Answer:
        raise DoorProblem(Kind.FORBIDDEN, "no", rule="actor.role")

    answer = await keys.run("SQ-YSB", "k2", "f1", refused)
    assert (answer.status_code, answer.media_type) == (403, "application/problem+json")
    assert (await keys.run("SQ-YSB", "k2", "f1", work)).status_code == 403, "a refusal is answered again too"


async def test_a_timeout_releases_the_key_and_a_stale_claim_is_taken_over(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    keys = door_keys(sessions, clock)

    async def timed_out(key: str) -> Answer:
        raise DoorProblem(Kind.TIMEOUT, "late", command_id=key)

    assert (await keys.run("SQ-YSB", "k", "f", timed_out)).status_code == 504
    async with sessions() as session:
        assert await session.get(IdempotencyKey, ("SQ-YSB", "k")) is None

    async with sessions.begin() as session:
        session.add(
            IdempotencyKey(
                department="SQ-YSB",
                key="busy",
                fingerprint="f",
                state="in_flight",
                created_at=clock.now,
                expires_at=clock.now + timedelta(hours=24),
            )
        )

    async def done(_key: str) -> Answer:
        return Answer(200, {"ok": True})

    with pytest.raises(DoorProblem) as busy:
        await keys.run("SQ-YSB", "busy", "f", done)
    assert busy.value.kind is Kind.IDEMPOTENCY_KEY_IN_FLIGHT
    clock.now += timedelta(minutes=5)
    assert (await keys.run("SQ-YSB", "busy", "f", done)).status_code == 200
    async with sessions() as session:
        row = await session.get(IdempotencyKey, ("SQ-YSB", "busy"))
        assert row is not None and row.state == COMPLETED

    clock.now += timedelta(days=2)
    assert await keys.purge() >= 1
    async with sessions() as session:
        assert await session.get(IdempotencyKey, ("SQ-YSB", "busy")) is None


def test_keys_are_read_quoted_or_bare_and_fingerprints_ignore_layout() -> None:
    assert parse_key('"abc"') == parse_key("abc") == "abc"
    assert parse_key('"a\\"b"') == 'a"b'
    assert parse_key(None) is None
    for bad in ("", "a b", "x" * 101, '""'):
        with pytest.raises(DoorProblem):
            parse_key(bad)
    assert fingerprint("POST", "/v1/x", b'{"a":1,"b":[2]}') == fingerprint("POST", "/v1/x", b'{ "b": [2], "a": 1 }')
    assert fingerprint("POST", "/v1/x", b'{"a":1}') != fingerprint("POST", "/v1/y", b'{"a":1}')


async def test_the_model_matches_the_migration(store_url: str) -> None:
    assert await model_differences(store_url, "idempotency_keys") == []
