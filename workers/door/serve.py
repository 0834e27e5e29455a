"""Serving the door with uvicorn: `serve` for `caseloop api` (until SIGTERM or Ctrl-C, finishing the requests in
flight), `serving` for a door beside other work in one process (`caseloop up`, tests)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import structlog
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from caseloop.direct import CaseClient
from caseloop.errors import Unreachable
from workers.door.app import build_app
from workers.door.deps import DoorOptions
from workers.metrics import domain_metrics_endpoint
from workers.settings import Settings

log = structlog.get_logger(__name__)

# Requests in flight get this long to finish once a stop is asked for; a command waits at most its own timeout.
GRACEFUL_SECONDS = 35


class DoorError(Exception):
    """The door cannot serve; the message says where."""


def bind(host: str, port: int, *, server: str = "the front door", error: type[Exception] = DoorError) -> socket.socket:
    """The listening socket, bound here so that a taken port is an error of ours (`error`, naming `server`), not
    uvicorn's exit."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not left 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and accepted
    # connections inherit it. Without it every answer met Nagle's algorithm and the client's delayed ACK: 40 ms a
    # request on loopback, where uvicorn's own sockets (from getaddrinfo) answer in 1-2 ms.
    listening = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as refused:
        listening.close()
        raise error(f"{server} cannot listen on {host}:{port}: {refused.strerror}") from None
    listening.listen(2048)
    listening.setblocking(False)
    return listening


class HeadWithBody:
    """A connection's transport that sends a response's head in one write with what follows it.

    uvicorn writes the status line and headers, then the body, each at once: two sends, two segments (the socket
    has no Nagle delay), and the client wakes for the head, then again for the body. Here a write is held until
    the next one, or until the event loop's current turn ends, whichever comes first, and then goes out with it.
    A body written in the same turn as its head (every answer of the door's) leaves in one send; nothing waits
    longer than the turn that wrote it."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._held is None:
            if data:
                self._held = bytes(data)
                self._loop.call_soon(self._flush)
            return
        held, self._held = self._held, None
        self._transport.write(held + bytes(data))

    def _flush(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> object:
        return getattr(self._transport, name)


class OneSendH11(H11Protocol):
    """uvicorn's h11 protocol, writing through `HeadWithBody`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = HeadWithBody(transport, self.loop)  # type: ignore[assignment]


def config(app: FastAPI, host: str, port: int) -> uvicorn.Config:
    """How caseloop's HTTP servers run under uvicorn: logs through structlog, requests given time to finish."""
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
        http=OneSendH11,  # a response in one send: a quiet door answered 2-3 ms sooner (bench/README.md)
    )


async def serve(settings: Settings) -> None:
    """Serves on bind_host:api_port until SIGTERM or SIGINT; uvicorn stops accepting, lets requests finish (a second
    signal stops waiting for them), then the engine closes and this returns."""
    host, port = settings.bind_host, settings.api_port
    listening = bind(host, port)
    try:
        options = DoorOptions.of(settings)
        # Connected before serving, so that an unreachable Temporal is said plainly and nothing answers requests.
        engine = await _engine(settings, options)
        try:
            server = uvicorn.Server(config(build_app(settings, engine=engine, options=options), host, port))
            # uvicorn re-raises a signal it caught once it has stopped, which kills the process by that signal
            # (exit -15, the engine left open); here a stop is asked for by signal and ends as an ordinary return.
            server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
            with _metrics(settings) as metrics, _stopped_by_signals(server):
                log.info("front door serving", url=f"http://{host}:{port}", metrics=metrics)
                await server.serve(sockets=[listening])
        finally:
            await engine.close()
    finally:
        listening.close()
    if not server.started:
        raise DoorError(f"the front door could not start on {host}:{port}")
    log.info("front door stopped")


@contextlib.contextmanager
def _metrics(settings: Settings) -> Iterator[str | None]:
    """The door's own metrics endpoint on api_metrics_port: its inbox-call counters (and the store's gauges, as every
    caseloop process serves them), which `caseloop up` serves on metrics_port instead."""
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(domain_metrics_endpoint(settings, port=settings.api_metrics_port))
        except OSError as refused:
            where = f"{settings.bind_host}:{settings.api_metrics_port}"
            raise DoorError(
                f"the front door's metrics cannot listen on {where}: {refused.strerror}; set "
                "CASELOOP_API_METRICS_PORT (0: off)"
            ) from None
        yield url


async def _engine(settings: Settings, options: DoorOptions) -> CaseClient:
    try:
        return await CaseClient.connect(settings, within=options.command_seconds)
    except Unreachable as error:
        raise Unreachable(f"the front door cannot start: {error}; check CASELOOP_TEMPORAL_TARGET") from None


@contextlib.contextmanager
def _stopped_by_signals(server: uvicorn.Server) -> Iterator[None]:
    """SIGTERM or SIGINT asks the server to stop; a second one stops it without waiting for requests in flight."""
    loop = asyncio.get_running_loop()

    def stop() -> None:
        if server.should_exit:
            server.force_exit = True
        server.should_exit = True

    signals = (signal.SIGTERM, signal.SIGINT)
    for number in signals:
        loop.add_signal_handler(number, stop)
    try:
        yield
    finally:
        for number in signals:
            loop.remove_signal_handler(number)


@asynccontextmanager
async def serving(app: FastAPI, host: str, port: int) -> AsyncIterator[uvicorn.Server]:
    """Serves `app` in this event loop until the block ends; raises if it cannot start (a taken port)."""
    server = uvicorn.Server(config(app, host, port))
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
