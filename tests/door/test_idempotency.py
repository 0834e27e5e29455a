"""Idempotency-Key over real HTTP: a retry answers the first result and applies nothing twice; another request under
the same key is 422; a key in flight is 409; a stale claim is taken over; the key's syntax is checked; on a SQLite
store the records live in a file of their own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store.db import create_engine, create_session_factory
from activities.store.idempotency import IN_FLIGHT, IdempotencyKey
from tests.door.conftest import COORDINATOR, LEAD, LOCALITY, DoorWorld
from tests.door.test_cases import audit, launched, problem
from workers.door.idempotency import fingerprint, keys_store_url, prepare_keys_store


@asynccontextmanager
async def door_keys(world: DoorWorld) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The file the door keeps its Idempotency-Key records in, opened as another process would."""
    url = keys_store_url(world.settings.resolved_store_url)
    assert url is not None, "the door's world runs on a SQLite store"
    engine = create_engine(url, keyring=world.settings.payload_keyring())
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def test_a_retry_answers_the_first_result_and_applies_once(door_world: DoorWorld) -> None:
    case_id = await launched(door_world)
    coordinator = door_world.client(COORDINATOR)
    key = str(uuid.uuid4())
    body = {"role": "coordinator", "text": "一次"}
    first = await coordinator.post(f"/v1/cases/{case_id}/comment", json=body, headers={"Idempotency-Key": key})
    # The draft's quoted form names the same key; key order of the body does not matter.
    again = await coordinator.post(
        f"/v1/cases/{case_id}/comment",
        content=b'{"text": "\\u4e00\\u6b21", "role": "coordinator"}',
        headers={"Idempotency-Key": f'"{key}"', "Content-Type": "application/json"},
    )
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    view = (await coordinator.get(f"/v1/cases/{case_id}")).json()
    assert view["seq"] == first.json()["seq"]
    rows = await audit(door_world, case_id, "commented")
    assert rows["commented"].seq == first.json()["seq"]


async def test_a_refusal_is_replayed_too(door_world: DoorWorld) -> None:
    case_id = await launched(door_world)
    key = str(uuid.uuid4())
    body = {"role": "lead"}
    first = await door_world.client(LOCALITY).post(
        f"/v1/cases/{case_id}/sign", json=body, headers={"Idempotency-Key": key}
    )
    again = await door_world.client(LOCALITY).post(
        f"/v1/cases/{case_id}/sign", json=body, headers={"Idempotency-Key": key}
    )
    assert problem(first, 403) == problem(again, 403)


async def test_the_same_key_with_another_request_is_422(door_world: DoorWorld) -> None:
    case_id = await launched(door_world)
    coordinator = door_world.client(COORDINATOR)
    key = str(uuid.uuid4())
    done = await coordinator.post(
        f"/v1/cases/{case_id}/comment", json={"role": "coordinator", "text": "a"}, headers={"Idempotency-Key": key}
    )
    assert done.status_code == 200
    reused = problem(
        await coordinator.post(
            f"/v1/cases/{case_id}/comment", json={"role": "coordinator", "text": "b"}, headers={"Idempotency-Key": key}
        ),
        422,
    )
    assert reused["type"].endswith("/idempotency-key-reused")
    assert reused["field"] == "Idempotency-Key"
    # Keys are the department's own: another department's request under the same key is its own.
    lead = await door_world.client(LEAD).post(
        f"/v1/cases/{case_id}/comment", json={"role": "lead", "text": "b"}, headers={"Idempotency-Key": key}
    )
    assert lead.status_code == 200, lead.text


async def test_a_key_in_flight_is_409_until_it_goes_stale(door_world: DoorWorld) -> None:
    case_id = await launched(door_world)
    key = str(uuid.uuid4())
    body = b'{"role":"coordinator","text":"busy"}'
    path = f"/v1/cases/{case_id}/comment"
    now = datetime.now(UTC)
    async with door_keys(door_world) as keys:
        async with keys.begin() as session:
            session.add(
                IdempotencyKey(
                    department=COORDINATOR,
                    key=key,
                    fingerprint=fingerprint("POST", path, body),
                    state=IN_FLIGHT,
                    created_at=now,
                    expires_at=now + timedelta(hours=1),
                )
            )
        headers = {"Idempotency-Key": key, "Content-Type": "application/json"}
        busy = problem(await door_world.client(COORDINATOR).post(path, content=body, headers=headers), 409)
        assert busy["type"].endswith("/idempotency-key-in-flight")
        async with keys.begin() as session:
            row = await session.get(IdempotencyKey, (COORDINATOR, key))
            assert row is not None
            row.created_at = now - timedelta(hours=1)  # the door that claimed it crashed long ago
        taken = await door_world.client(COORDINATOR).post(path, content=body, headers=headers)
        assert taken.status_code == 200, taken.text


async def test_on_a_sqlite_store_the_keys_live_in_a_file_of_their_own(door_world: DoorWorld) -> None:
    """The door's two writes per command never wait on the worker's writes to the store's file."""
    case_id = await launched(door_world)
    key = str(uuid.uuid4())
    answer = await door_world.client(LEAD).post(
        f"/v1/cases/{case_id}/comment", json={"role": "lead", "text": "apart"}, headers={"Idempotency-Key": key}
    )
    assert answer.status_code == 200, answer.text
    mine = (IdempotencyKey.department == LEAD) & (IdempotencyKey.key == key)
    async with door_keys(door_world) as keys, keys() as session:
        row = await session.scalar(select(IdempotencyKey).where(mine))
        assert row is not None and row.state == "completed" and row.status == 200
    async with door_world.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(IdempotencyKey).where(mine)) == 0


def test_where_a_store_keeps_the_door_keys() -> None:
    assert keys_store_url("sqlite+aiosqlite:////srv/data/caseloop.db") == (
        "sqlite+aiosqlite:////srv/data/caseloop-door-keys.db"
    )
    assert keys_store_url("sqlite+aiosqlite:///relative/store.sqlite") == (
        "sqlite+aiosqlite:///relative/store-door-keys.sqlite"
    )
    for kept_in_the_store in (
        "sqlite+aiosqlite://",
        "sqlite+aiosqlite:///:memory:",
        "postgresql+asyncpg://caseloop:secret@db:5432/caseloop",
    ):
        assert keys_store_url(kept_in_the_store) is None


async def test_a_malformed_key_is_refused(door_world: DoorWorld) -> None:
    case_id = await launched(door_world)
    for bad in (b"has space", b"x" * 101, "é".encode()):
        refused = problem(
            await door_world.client(COORDINATOR).post(
                f"/v1/cases/{case_id}/comment",
                json={"role": "coordinator", "text": "x"},
                headers={b"Idempotency-Key": bad},
            ),
            422,
        )
        assert refused["field"] == "Idempotency-Key"


async def test_a_keys_file_of_another_shape_is_made_anew(tmp_path: Path) -> None:
    """A keys file an earlier door made with other columns: the next door's start makes the table anew, and a key
    is claimed in it."""
    url = keys_store_url(f"sqlite+aiosqlite:///{tmp_path / 'caseloop.db'}")
    assert url is not None
    engine = create_engine(url, keyring=None)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE idempotency_keys (department TEXT, key TEXT, answer TEXT)"))
        await prepare_keys_store(engine)
        await prepare_keys_store(engine)  # a second door starting finds it as it should be
        async with engine.connect() as connection:
            columns = await connection.run_sync(
                lambda sync: {column["name"] for column in inspect(sync).get_columns("idempotency_keys")}
            )
        assert columns == {column.name for column in IdempotencyKey.__table__.columns}
        now = datetime.now(UTC)
        async with create_session_factory(engine).begin() as session:
            session.add(
                IdempotencyKey(
                    department=LEAD,
                    key="k",
                    fingerprint="f",
                    state=IN_FLIGHT,
                    created_at=now,
                    expires_at=now + timedelta(hours=1),
                )
            )
    finally:
        await engine.dispose()
