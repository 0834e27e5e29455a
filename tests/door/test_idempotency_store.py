"""The Idempotency-Key records on SQLite and PostgreSQL: claim, answer again, refuse another request, release after
a 5xx, take over a stale claim, purge expired records, record an answer once it is sent; and the table is the
migration's."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

import pytest
import structlog
from fastapi.responses import Response
from sqlalchemy import text
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


async def answered(answer: Awaitable[Response]) -> Response:
    """The answer once the server has sent it: its background task (the key's record) run, as uvicorn runs it."""
    response = await answer
    if response.background is not None:
        await response.background()
    return response


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

    first = await answered(keys.run("SQ-YSB", "k1", "f1", work))
    again = await keys.run("SQ-YSB", "k1", "f1", work)
    assert (first.status_code, first.body) == (again.status_code, again.body) == (200, b'{"seq":1}')
    assert sent == ["k1"] and again.headers["idempotent-replayed"] == "true"
    assert (await answered(keys.run("SQ-ZJJ", "k1", "f1", work))).body == b'{"seq":2}', "another department's key"
    with pytest.raises(DoorProblem) as reused:
        await keys.run("SQ-YSB", "k1", "f2", work)
    assert reused.value.kind is Kind.IDEMPOTENCY_KEY_REUSED

    async def refused(_key: str) -> Answer:
        raise DoorProblem(Kind.FORBIDDEN, "no", rule="actor.role")

    answer = await answered(keys.run("SQ-YSB", "k2", "f1", refused))
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
    assert (await answered(keys.run("SQ-YSB", "busy", "f", done))).status_code == 200
    async with sessions() as session:
        row = await session.get(IdempotencyKey, ("SQ-YSB", "busy"))
        assert row is not None and row.state == COMPLETED

    clock.now += timedelta(days=2)
    assert await keys.purge() >= 1
    async with sessions() as session:
        assert await session.get(IdempotencyKey, ("SQ-YSB", "busy")) is None


async def test_an_answer_is_recorded_once_it_is_sent_and_a_failed_record_only_logged(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    keys = door_keys(sessions, Clock())
    sent: list[str] = []

    async def work(key: str) -> Answer:
        sent.append(key)
        return Answer(200, {"ok": True})

    answer = await keys.run("SQ-YSB", "k", "f", work)
    assert answer.status_code == 200 and answer.background is not None
    with pytest.raises(DoorProblem) as early:
        await keys.run("SQ-YSB", "k", "f", work)
    assert early.value.kind is Kind.IDEMPOTENCY_KEY_IN_FLIGHT, "a retry before the answer is out meets the claim"
    await answer.background()
    replayed = await keys.run("SQ-YSB", "k", "f", work)
    assert replayed.headers["idempotent-replayed"] == "true" and replayed.background is None
    assert sent == ["k"]

    answer = await keys.run("SQ-YSB", "lost", "f", work)
    async with sessions.begin() as session:  # the store fails the record (a fresh store per test: nothing else sees it)
        await session.execute(text("DROP TABLE idempotency_keys"))
    with structlog.testing.capture_logs() as logs:
        await answer.background()  # the answer is out already: a failed record must not turn it into an error
    assert [entry["event"] for entry in logs if entry["log_level"] == "warning"] == ["idempotency key not completed"]


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
