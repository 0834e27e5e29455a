"""Serving the door with uvicorn: `serve` for `caseloop api` (until SIGTERM or Ctrl-C, finishing the requests in
flight), `serving` for a door beside other work in one process (`caseloop up`, tests)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
import uvicorn
from fastapi import FastAPI

from caseloop.direct import CaseClient
from workers.door.app import build_app
from workers.door.deps import DoorOptions
from workers.settings import Settings

log = structlog.get_logger(__name__)

# Requests in flight get this long to finish once a stop is asked for; a command waits at most its own timeout.
GRACEFUL_SECONDS = 35


class DoorError(Exception):
    """The door cannot serve; the message says where."""


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a taken port is an error of ours, not uvicorn's exit."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as error:
        listening.close()
        raise DoorError(f"the front door cannot listen on {host}:{port}: {error.strerror}") from None
    listening.listen(2048)
    listening.setblocking(False)
    return listening


def _config(app: FastAPI, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_config=None,  # the process's structlog setup renders uvicorn's records too
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
    )


async def serve(settings: Settings) -> None:
    """Serves on bind_host:api_port until SIGTERM or SIGINT; uvicorn stops accepting, lets requests finish, then
    the lifespan closes the engine and the store."""
    host, port = settings.bind_host, settings.api_port
    listening = bind(host, port)
    options = DoorOptions.of(settings)
    # Connected before serving, so that an unreachable Temporal is said plainly (Unreachable) and nothing listens.
    engine = await CaseClient.connect(settings, within=options.command_seconds)
    try:
        server = uvicorn.Server(_config(build_app(settings, engine=engine, options=options), host, port))
        log.info("front door serving", url=f"http://{host}:{port}")
        await server.serve(sockets=[listening])
    finally:
        await engine.close()
        listening.close()
    if not server.started:
        raise DoorError(f"the front door could not start on {host}:{port}")


@asynccontextmanager
async def serving(app: FastAPI, host: str, port: int) -> AsyncIterator[uvicorn.Server]:
    """Serves `app` in this event loop until the block ends; raises if it cannot start (a taken port)."""
    server = uvicorn.Server(_config(app, host, port))
    # Signals belong to whoever runs the loop (the stack, pytest), not to this server.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve(sockets=[bind(host, port)]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise DoorError(f"the front door could not start on {host}:{port}")
            await asyncio.sleep(0.02)
        yield server
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
