"""The front door's FastAPI application: routes, problem details, the body limit, and the parts it runs on.

`build_app(settings)` connects to Temporal and opens the store when it starts serving (the lifespan), unless it is
handed an engine and store sessions of the caller's, which it then leaves open. On a SQLite store it keeps the
Idempotency-Key records in a file of their own (`workers.door.idempotency.keys_store_url`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import structlog
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from activities.store.db import create_engine, create_session_factory, engine_of
from caseloop.direct import CaseClient
from workers.door import problems
from workers.door.credentials import Authenticator
from workers.door.deps import Door, DoorOptions
from workers.door.idempotency import Idempotency, keys_store_url, prepare_keys_store
from workers.door.openapi import install_openapi
from workers.door.routes import cases, clock, deliveries, handoffs, inbox, intake, joint, me, registry, verifications
from workers.settings import Settings

log = structlog.get_logger(__name__)

PURGE_EVERY_SECONDS = 600.0


def build_app(
    settings: Settings,
    *,
    engine: CaseClient | None = None,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    options: DoorOptions | None = None,
) -> FastAPI:
    options = options or DoorOptions.of(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            store = sessions
            if store is None:
                database = create_engine(settings.resolved_store_url, keyring=settings.payload_keyring())
                stack.push_async_callback(database.dispose)
                store = create_session_factory(database)
            client = engine
            if client is None:
                client = await CaseClient.connect(settings, within=options.command_seconds)
                stack.push_async_callback(client.close)
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0)))
            authenticator = Authenticator(settings, store, http)
            stack.push_async_callback(authenticator.drain)
            keys, earlier = engine_of(store), None
            keys_url = keys_store_url(settings.resolved_store_url)
            if keys_url is not None:
                keys_database = create_engine(keys_url, keyring=settings.payload_keyring())
                stack.push_async_callback(keys_database.dispose)
                await prepare_keys_store(keys_database)
                keys, earlier = keys_database, engine_of(store)
            idempotency = Idempotency(
                keys,
                problem_base=settings.problem_base,
                retention=options.idempotency_retention,
                stale_after=options.stale_after,
                earlier=earlier,
            )
            app.state.door = Door(
                settings=settings,
                options=options,
                engine=client,
                sessions=store,
                authenticator=authenticator,
                idempotency=idempotency,
            )
            purging = asyncio.create_task(_purge(idempotency))
            try:
                yield
            finally:
                purging.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await purging

    app = FastAPI(
        title="caseloop",
        version="1",
        summary="Cross-department case collaboration: cases, hand-offs, inboxes, deadlines",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    problems.install(app, settings.problem_base)
    for module in (cases, handoffs, inbox, clock, registry, me, intake, verifications, deliveries, joint):
        app.include_router(module.router)
    app.include_router(intake.status_router)
    app.include_router(joint.status_router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    install_openapi(app, settings, options)
    app.add_middleware(BodyLimit, limit=options.max_body_bytes, problem_base=settings.problem_base)
    return app


async def _purge(idempotency: Idempotency) -> None:
    """Deletes Idempotency-Key records past their retention, now and then."""
    while True:
        try:
            purged = await idempotency.purge()
            if purged:
                log.info("idempotency keys purged", count=purged)
        except Exception:
            log.warning("idempotency keys not purged", exc_info=True)
        await asyncio.sleep(PURGE_EVERY_SECONDS)


class BodyLimit:
    """Refuses a body over `limit` bytes with 413 before any route reads it; a body without Content-Length is
    read up to the limit here and handed on."""

    def __init__(self, app: ASGIApp, *, limit: int, problem_base: str) -> None:
        self.app = app
        self.limit = limit
        self.base = problem_base

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.limit:
                await self._refuse(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = problems.DoorProblem(
            problems.Kind.TOO_LARGE, f"a request body is at most {self.limit} bytes", rule="body.size", field="body"
        )
        await problem.response(self.base)(scope, receive, send)
