"""The SDK's HTTP transport against a real HTTP server on 127.0.0.1: problem details become the typed errors, the
command id travels as the Idempotency-Key, a command in flight is asked about again, and timeouts name the id."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from caseloop.errors import (
    EXIT_FORBIDDEN,
    EXIT_TIMEOUT,
    EXIT_UNREACHABLE,
    CommandError,
    CommandTimeout,
    Forbidden,
    InputRejected,
    NotFound,
    Unreachable,
)
from caseloop.sdk.client import CaseClient
from caseloop.sdk.transport import Transport, _verify
from tests.sdk.world import serving
from tests.support.embedded_stack import free_ports

BASE = "https://caseloop.invalid/problems/"
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Door:
    """A stand-in door: each path answers one way; it remembers what it was sent."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str], str, bytes]] = []
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        path = scope["path"]
        self.seen.append((path, headers, scope["query_string"].decode(), body))
        if path.startswith("/problem/"):
            _, _, status, kind = path.split("/")
            extra = json.loads(body) if body else {}
            await _answer(send, int(status), {"type": BASE + kind, "title": kind, "status": int(status), **extra})
        elif path == "/in-flight-once":
            self.in_flight += 1
            if self.in_flight == 1:
                await _answer(send, 409, {"type": BASE + "idempotency-key-in-flight", "status": 409})
            else:
                await _answer(send, 200, {"ok": True}, problem=False)
        elif path == "/in-flight":
            await _answer(send, 409, {"type": BASE + "idempotency-key-in-flight", "status": 409})
        elif path == "/slow":
            await asyncio.sleep(5)
            await _answer(send, 200, {}, problem=False)
        elif path == "/html-502":
            await send({"type": "http.response.start", "status": 502, "headers": [(b"content-type", b"text/html")]})
            await send({"type": "http.response.body", "body": b"<html>bad gateway</html>"})
        else:
            await _answer(send, 200, {"headers": headers, "query": scope["query_string"].decode()}, problem=False)


async def _answer(send: Send, status: int, body: dict[str, Any], *, problem: bool = True) -> None:
    kind = b"application/problem+json" if problem else b"application/json"
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", kind)]})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


@pytest.fixture
async def door() -> AsyncIterator[tuple[Door, str]]:
    app = Door()
    async with serving(app, stand_in=True) as url:
        yield app, url


async def test_problems_become_typed_errors(door: tuple[Door, str]) -> None:
    _app, url = door
    transport = Transport(url, "clk_test", within=5)

    async def failure(status: int, kind: str, **extra: Any) -> CommandError:
        with pytest.raises(CommandError) as raised:
            await transport.post(f"/problem/{status}/{kind}", extra, subject="case case-X-1", command_id="c-1")
        return raised.value

    refused = await failure(422, "rule-refused", detail="a return needs its legal basis", rule="return.legal-basis",
                            field="legal_basis")  # fmt: skip
    assert isinstance(refused, InputRejected)
    assert (refused.rule, refused.field) == ("return.legal-basis", "legal_basis")
    assert str(refused) == "case case-X-1: a return needs its legal basis (rule return.legal-basis, field legal_basis)"
    reused = await failure(422, "idempotency-key-reused", detail="c-1 was sent with another body", rule="idempotency")
    assert isinstance(reused, InputRejected) and reused.rule == "idempotency"
    invalid = await failure(422, "invalid-request", detail="limit: Field required", rule="missing", field="limit")
    assert isinstance(invalid, InputRejected) and invalid.field == "limit"

    missing = await failure(404, "not-found", detail="case case-X-1 does not exist")
    assert isinstance(missing, NotFound) and str(missing) == "case case-X-1 does not exist"
    for status, kind in ((401, "unauthenticated"), (403, "forbidden")):
        refused_identity = await failure(status, kind, detail="SQ-SCQ does not hold the role lead on this case")
        assert isinstance(refused_identity, Forbidden) and refused_identity.exit_code == EXIT_FORBIDDEN

    down = await failure(503, "unavailable", detail="Temporal does not answer")
    assert isinstance(down, Unreachable) and url in str(down) and down.exit_code == EXIT_UNREACHABLE
    late = await failure(504, "timeout", detail="no answer in time", command_id="c-1")
    assert isinstance(late, CommandTimeout) and late.command_id == "c-1" and "c-1" in str(late)
    assert late.exit_code == EXIT_TIMEOUT
    with pytest.raises(Unreachable):
        await transport.get("/html-502", subject="the case list")
    teapot = await failure(418, "teapot")
    assert type(teapot) is CommandError and "418" in str(teapot)
    await transport.close()


async def test_the_command_id_is_the_idempotency_key_and_lists_repeat_their_parameter(door: tuple[Door, str]) -> None:
    _app, url = door
    transport = Transport(url, "clk_abc", within=7)
    echoed = await transport.post("/echo", {"text": "x"}, subject="case c", command_id="note-1")
    headers = echoed["headers"]
    assert (headers["idempotency-key"], headers["authorization"], headers["prefer"]) == (
        "note-1",
        "Bearer clk_abc",
        "wait=7",
    )
    listed = await transport.get("/echo", subject="list", params={"stage": ["a", "b"], "overdue": False, "x": None})
    assert listed["query"] == "stage=a&stage=b&overdue=false"
    read = await transport.get("/echo", subject="read")
    assert "idempotency-key" not in read["headers"]
    await transport.close()


async def test_a_command_in_flight_is_asked_again_until_it_answers_or_time_runs_out(door: tuple[Door, str]) -> None:
    app, url = door
    transport = Transport(url, "clk_test", within=5)
    assert await transport.post("/in-flight-once", {}, subject="case c", command_id="sign-1") == {"ok": True}
    assert app.in_flight == 2
    with pytest.raises(CommandTimeout) as still:
        await transport.post("/in-flight", {}, subject="case c", command_id="sign-2", within=0.5)
    assert still.value.command_id == "sign-2" and "sign-2" in str(still.value)
    await transport.close()


async def test_no_answer_in_time_names_the_command_id(door: tuple[Door, str]) -> None:
    _app, url = door
    transport = Transport(url, "clk_test", within=0.3)
    with pytest.raises(CommandTimeout) as timed_out:
        await transport.post("/slow", {}, subject="case c", command_id="sign-3")
    assert timed_out.value.command_id == "sign-3" and "no answer within 0.3s" in str(timed_out.value)
    with pytest.raises(CommandTimeout) as read_late:
        await transport.get("/slow", subject="case c")
    assert read_late.value.command_id is None
    await transport.close()


async def test_nothing_listening_is_unreachable_naming_the_url() -> None:
    url = f"http://127.0.0.1:{free_ports(1)[0]}"
    transport = Transport(url, "clk_test", within=5)
    with pytest.raises(Unreachable) as unreachable:
        await transport.get("/v1/me", subject="me")
    assert url in str(unreachable.value)
    await transport.close()


async def test_an_unreachable_door_is_named_without_its_credentials_or_transport_text() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(Unreachable) as raised:
        await CaseClient.connect(f"http://caseloop:hunter2@127.0.0.1:{port}/", "clk_unused_key", within=10)
    said = str(raised.value)
    assert said == (
        f"cannot reach the caseloop API at http://127.0.0.1:{port}: nothing accepts connections there "
        "(is `caseloop up` or `caseloop api` running?)"
    )
    assert isinstance(raised.value.__cause__, httpx.TransportError), "the transport's failure stays as the cause"


def test_a_plain_http_door_reached_directly_loads_no_ca_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    """No TLS connection is made to an http:// door without a proxy, so its client trusts no CA (any handshake would
    fail) instead of loading httpx's bundle; an https:// door, or any door behind a proxy, verifies as httpx does."""
    for name in [name for name in os.environ if name.lower().endswith("_proxy")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("NO_PROXY", "localhost")
    plain = _verify("http://127.0.0.1:8080")
    assert isinstance(plain, ssl.SSLContext)
    assert plain.get_ca_certs() == [] and plain.verify_mode is ssl.CERT_REQUIRED and plain.check_hostname
    assert _verify("https://caseloop.example.gov") is True
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert _verify("http://127.0.0.1:8080") is True


class HangsUpFirst:
    """A real HTTP server on 127.0.0.1 that reads every odd request and closes without an answer, as a door does
    with a kept-alive connection it has just closed as idle; every even one gets 200."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")),
            0,
        )
        if length:
            await reader.readexactly(length)
        self.requests.append(head.split(b"\r\n")[0])
        if len(self.requests) % 2 == 0:
            body = b'{"ok": true}'
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        writer.close()


@pytest.fixture
async def hangs_up_first() -> AsyncIterator[tuple[HangsUpFirst, str]]:
    server_side = HangsUpFirst()
    server = await asyncio.start_server(server_side, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield server_side, f"http://127.0.0.1:{port}"


async def test_a_read_or_a_command_with_its_id_is_sent_again_when_the_connection_breaks_off(
    hangs_up_first: tuple[HangsUpFirst, str],
) -> None:
    server_side, url = hangs_up_first
    transport = Transport(url, "clk_test_secret", within=10)
    try:
        assert await transport.get("/cases", subject="cases") == {"ok": True}
        assert await transport.post("/cases/x/comment", {}, subject="case x", command_id="c-1") == {"ok": True}
    finally:
        await transport.close()
    assert len(server_side.requests) == 4  # each sent twice


async def test_a_post_without_a_command_id_is_never_sent_twice(hangs_up_first: tuple[HangsUpFirst, str]) -> None:
    server_side, url = hangs_up_first
    transport = Transport(url, "clk_test_secret", within=10)
    try:
        with pytest.raises(Unreachable, match="broke off before an answer"):
            await transport.post("/cases/x/comment", {}, subject="case x")
    finally:
        await transport.close()
    assert len(server_side.requests) == 1
