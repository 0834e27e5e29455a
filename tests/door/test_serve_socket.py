"""The door's and the codec server's listening socket: connections accepted on it send without Nagle's delay, and an
answer's head leaves in one send with its body.

asyncio turns on TCP_NODELAY only for sockets whose protocol says TCP. A socket made with proto 0 (the default) made
every answer wait for the client's delayed ACK, 40 ms a request on loopback. This checks the option on a connection
accepted through the event loop, as uvicorn accepts them."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI
from fastapi.responses import Response, StreamingResponse

from tests.support.embedded_stack import free_ports
from workers.door.serve import HeadWithBody, OneSendH11, bind, config, serving


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


async def test_answers_plain_empty_and_streamed_arrive_whole_through_the_one_send_protocol() -> None:
    """What the protocol writes reaches the client whole, whatever the answer's shape (that a head leaves with its
    body in one send is the next test's: on loopback one read gets both sends as well)."""
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/none")
    async def none() -> Response:
        return Response(status_code=204)

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            for part in (b"one,", b"two,", b"three"):
                yield part
                await asyncio.sleep(0.01)  # each part in a later turn of the loop than the one before

        return StreamingResponse(parts(), media_type="text/plain")

    (port,) = free_ports(1)
    async with serving(app, "127.0.0.1", port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(b"GET /ping HTTP/1.1\r\nHost: door\r\n\r\n")
            await writer.drain()
            first = await asyncio.wait_for(reader.read(65536), 30)
            assert first.startswith(b"HTTP/1.1 200 ") and first.endswith(b'\r\n\r\n{"ok":true}'), first
        finally:
            writer.close()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            assert (await http.get("/none")).status_code == 204
            assert (await http.get("/stream")).text == "one,two,three"
            assert (await http.get("/ping")).json() == {"ok": True}


class Sent(asyncio.Transport):
    """A transport that keeps what is written to it, one entry per write (what a socket would send at once)."""

    def __init__(self) -> None:
        super().__init__()
        self.sends: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.sends.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


async def test_a_head_goes_out_with_what_follows_it_or_at_the_end_of_the_turn() -> None:
    assert config(FastAPI(), "127.0.0.1", 1).http is OneSendH11, "the door's connections write through it"
    sent = Sent()
    transport = HeadWithBody(sent, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(b'{"ok":true}')
    transport.write(b"")  # the end of a message with a Content-Length writes nothing
    assert sent.sends == [b'HTTP/1.1 200 OK\r\n\r\n{"ok":true}']
    transport.write(b"part")
    assert sent.sends[1:] == []
    await asyncio.sleep(0)  # the turn that wrote it ends
    assert sent.sends[1:] == [b"part"]
    transport.write(b"last")
    transport.close()
    assert sent.sends[2:] == [b"last"] and sent.closed
    assert transport.is_closing(), "everything else is the connection's own"
