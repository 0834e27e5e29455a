"""The door's and the codec server's listening socket: connections accepted on it send without Nagle's delay.

asyncio turns on TCP_NODELAY only for sockets whose protocol says TCP. A socket made with proto 0 (the default) made
every answer wait for the client's delayed ACK, 40 ms a request on loopback. This checks the option on a connection
accepted through the event loop, as uvicorn accepts them."""

from __future__ import annotations

import asyncio
import socket

import httpx
from fastapi import FastAPI

from tests.support.embedded_stack import free_ports
from workers.door.serve import bind, serving


async def test_a_connection_accepted_on_the_bound_socket_has_no_nagle_delay() -> None:
    (port,) = free_ports(1)
    nodelay: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Taken(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            nodelay.set_result(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    listening = bind("127.0.0.1", port)
    server = await asyncio.get_running_loop().create_server(Taken, sock=listening)
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(nodelay, 30) != 0
        writer.close()
    finally:
        server.close()
        await server.wait_closed()


async def test_the_served_app_answers_over_the_bound_socket() -> None:
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    (port,) = free_ports(1)
    async with serving(app, "127.0.0.1", port), httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        for _ in range(3):  # on one kept-alive connection (the delay itself is the test above's option, not timed)
            answer = await http.get("/ping")
            assert answer.status_code == 200 and answer.json() == {"ok": True}
