"""`Idempotency-Key` as the IETF draft means it: a completed retry answers the first result, a retry while the first
is in flight answers 409, and the same key with another request answers 422.

The key is also the command's id: the Temporal update id is `<department>/<key>`, so the workflow applies a command
at most once even when the door's own record is lost. A 503 or 504 releases the key, since the retry must reach
the engine again (which then answers the first result). A claim older than a command can take is taken over, so a
door that crashed mid-request never jams a key.

On a SQLite store (the embedded stack) the records live in a file of their own beside it (`keys_store_url`): each
command writes its key twice, and in the store's file those writes would wait on the worker's, which only SQLite's
busy handler arbitrates across processes (sleeps of up to 100 ms). The file holds one table, created by the door
that first opens it, and made anew by a door whose model has other columns (`prepare_keys_store`). PostgreSQL keeps
them in the store: its writers lock rows, not the database.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Connection, inspect, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.schema import CreateIndex, CreateTable, DropTable
from starlette.background import BackgroundTask

from activities.store.idempotency import COMPLETED, IN_FLIGHT, IdempotencyKey, IdempotencyRepository
from workers.door.problems import DoorProblem, Kind

log = structlog.get_logger(__name__)

# The engine's command id rule: printable ASCII without spaces.
KEY = re.compile(r"^[!-~]{1,100}$")
HEADER = "Idempotency-Key"


def parse_key(value: str | None) -> str | None:
    """The key of the header: a Structured-Field String (`"abc"`, as the draft writes it) or a bare token."""
    if value is None:
        return None
    text = value.strip()
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        text = re.sub(r"\\([\\\"])", r"\1", text[1:-1])
    if not KEY.match(text):
        raise DoorProblem(
            Kind.INVALID_REQUEST,
            f"{HEADER} must be 1 to 100 printable ASCII characters without spaces, quoted or bare",
            rule="idempotency-key.format",
            field=HEADER,
        )
    return text


def fingerprint(method: str, path: str, body: bytes) -> str:
    """sha256 of the method, the path and the body as canonical JSON: key order, spacing and fields sent as null
    do not count (a null field means its default, so curl's `{"role": "lead"}` and a client that writes every
    field are the same request)."""
    try:
        canonical = json.dumps(
            _without_nulls(json.loads(body or b"null")), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
    except ValueError:
        canonical = body.decode("utf-8", "replace")
    return hashlib.sha256(f"{method}\n{path}\n{canonical}".encode()).hexdigest()


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {name: _without_nulls(item) for name, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def keys_store_url(store_url: str) -> str | None:
    """Where a door on this store keeps its keys: for a SQLite file `<name>.db`, `<name>-door-keys.db` beside it;
    None (in the store) for any other store, an in-memory SQLite one included."""
    url = make_url(store_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    path = Path(url.database)
    return url.set(database=str(path.with_name(f"{path.stem}-door-keys{path.suffix}"))).render_as_string(
        hide_password=False
    )


async def prepare_keys_store(engine: AsyncEngine) -> None:
    """Creates the keys file's table and index unless they are there (doors starting side by side may race). A table
    of another shape (a door of an earlier version made it, and the model changed since) is made anew: its records
    are only a retry's shortcut, and a retry without one reaches the engine, which answers the first result."""
    table = IdempotencyKey.metadata.tables[IdempotencyKey.__tablename__]
    async with engine.begin() as connection:
        held = await connection.run_sync(lambda sync: _columns(sync, table.name))
        if held and held != {column.name for column in table.columns}:
            log.warning("idempotency keys file of another shape made anew", had=sorted(held))
            await connection.execute(DropTable(table, if_exists=True))
        await connection.execute(CreateTable(table, if_not_exists=True))
        for index in table.indexes:
            await connection.execute(CreateIndex(index, if_not_exists=True))


def _columns(connection: Connection, name: str) -> set[str]:
    inspector = inspect(connection)
    return {column["name"] for column in inspector.get_columns(name)} if inspector.has_table(name) else set()


def command_id(department: str, key: str) -> str:
    """The update id the engine gets: keys of two departments never meet."""
    return f"{department}/{key}"


@dataclass(frozen=True)
class Answer:
    """What a command route answers: the status and the JSON body."""

    status: int
    body: Any


Work = Callable[[str], Awaitable[Answer]]


def _now() -> datetime:
    return datetime.now(UTC)


class Idempotency:
    def __init__(
        self,
        keys: AsyncEngine,
        *,
        problem_base: str,
        retention: timedelta,
        stale_after: timedelta,
        clock: Callable[[], datetime] = _now,
        earlier: AsyncEngine | None = None,
    ) -> None:
        """`keys`: the store the records are in, written on its connections with Core statements (a session's unit of
        work doubled what a command's claim and completion cost the door). `earlier`: a store that held the keys
        before (a SQLite store, before they moved to a file of their own), whose records are only purged."""
        self._keys = keys
        self._earlier = earlier
        self._base = problem_base
        self.retention = retention
        self._stale_after = stale_after
        self._clock = clock

    async def run(self, department: str, key: str | None, fingerprint: str, work: Work) -> Response:
        """Runs `work` with the key (a new uuid without one), or answers what the key answered before.

        The answer is recorded against the key once it has been sent: the response's background task, which the
        server runs after the body is written, so the caller does not wait for that write. A retry that arrives in
        between (it would have to beat a write that starts as the answer leaves) meets the claim: 409, retry."""
        if key is None:
            return await self._answer(work, str(uuid.uuid4()))
        claimed = await self._claim(department, key, fingerprint)
        if isinstance(claimed, Response):
            return claimed
        try:
            response = await self._answer(work, key)
        except BaseException:
            await self._release(department, key, claimed)
            raise
        if response.status_code >= 500:
            await self._release(department, key, claimed)  # before answering: the retry must reach the engine
        else:
            response.background = BackgroundTask(self._complete, department, key, claimed, response)
        return response

    async def purge(self) -> int:
        purged = 0
        for store in (self._keys, self._earlier):
            if store is not None:
                async with store.begin() as connection:
                    purged += await IdempotencyRepository(connection).purge(self._clock())
        return purged

    async def _answer(self, work: Work, key: str) -> Response:
        try:
            answer = await work(key)
        except DoorProblem as problem:
            return problem.response(self._base)
        return JSONResponse(answer.body, status_code=answer.status)

    async def _claim(self, department: str, key: str, fingerprint: str) -> datetime | Response:
        """Claims the key (answering when the claim was taken), or the stored answer, or raises 409 or 422."""
        for _ in range(3):
            now = self._clock()
            expires_at = now + self.retention
            try:
                async with self._keys.begin() as connection:
                    await IdempotencyRepository(connection).claim(department, key, fingerprint, now, expires_at)
                return now
            except IntegrityError:
                pass
            async with self._keys.begin() as connection:
                repository = IdempotencyRepository(connection)
                row = await repository.get(department, key)
                if row is None:
                    continue  # released between the insert and the read: claim again
                if row.expires_at <= now or (row.state == IN_FLIGHT and now - row.created_at > self._stale_after):
                    if row.state == IN_FLIGHT:
                        log.warning("idempotency key taken over", department=department, key=key)
                    if await repository.take_over(row, fingerprint, now, expires_at):
                        return now
                    continue
                if row.fingerprint != fingerprint:
                    raise DoorProblem(
                        Kind.IDEMPOTENCY_KEY_REUSED,
                        f"{HEADER} {key} was used for another request; a key names one request only",
                        rule="idempotency-key.reused",
                        field=HEADER,
                    )
                if row.state == COMPLETED and row.status is not None and row.body is not None:
                    return Response(
                        row.body,
                        status_code=row.status,
                        media_type=row.media_type,
                        headers={"Idempotent-Replayed": "true"},
                    )
                raise DoorProblem(
                    Kind.IDEMPOTENCY_KEY_IN_FLIGHT,
                    f"a request with {HEADER} {key} is still in flight; retry once it has answered",
                    rule="idempotency-key.in-flight",
                    field=HEADER,
                    headers={"Retry-After": "1"},
                )
        raise DoorProblem(
            Kind.IDEMPOTENCY_KEY_IN_FLIGHT,
            f"a request with {HEADER} {key} is contended; retry",
            rule="idempotency-key.in-flight",
            field=HEADER,
            headers={"Retry-After": "1"},
        )

    async def _complete(self, department: str, key: str, claimed: datetime, response: Response) -> None:
        try:
            async with self._keys.begin() as connection:
                await IdempotencyRepository(connection).complete(
                    department,
                    key,
                    claimed,
                    response.status_code,
                    response.media_type or "application/json",
                    bytes(response.body).decode(),
                )
        except Exception:
            # The answer is out; the claim goes stale and is taken over, and the retry reaches the engine, which
            # answers the first result under the same update id.
            log.warning("idempotency key not completed", department=department, key=key, exc_info=True)

    async def _release(self, department: str, key: str, claimed: datetime) -> None:
        try:
            async with self._keys.begin() as connection:
                await IdempotencyRepository(connection).release(department, key, claimed)
        except Exception:
            # The claim then goes stale and is taken over; the update id still keeps the command single.
            log.warning("idempotency key not released", department=department, key=key, exc_info=True)
