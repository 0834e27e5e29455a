"""The codec server the Temporal Web UI decodes payloads through: clear text for supervisors, ciphertext for others.

It speaks Temporal's codec protocol (`POST /decode`, `POST /encode`, payloads as protobuf JSON) and checks the front
door's credential (`Authorization: Bearer`, an API key or a JWT) on every call:
- `/decode` answers decoded payloads to a supervisor (a department the registry names as a supervisor of any
  matter or area) or an operator; anyone else gets the payloads back as they sent them, still encrypted, so the UI
  shows ciphertext. A request names no workflow, so a supervisor reads every case of the namespace, as in the UI.
- `/encode` (the UI's signal and start forms) is for operators only: a supervisor reads, it does not write.
- `X-Namespace` must be the configured namespace, and CORS admits the UI's origin only.
A refusal of `/decode` also carries the payloads as sent: the UI reads the body whatever the status, and shows
ciphertext rather than nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
import uvicorn
from fastapi import FastAPI
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payload, Payloads

from activities.store.db import create_engine, create_session_factory
from activities.store.registry import Department, RegistryRole
from schemas.access import Caller, CredentialKind, RefusalReason
from workers.codec import EncryptionCodec, PayloadRefused
from workers.door.credentials import Authenticator, CredentialRefused
from workers.door.serve import bind, config
from workers.settings import Environment, Settings

log = structlog.get_logger(__name__)

# Temporal refuses an event's payloads over 2 MB; base64 in JSON makes that about 2.7 MB.
MAX_BODY_BYTES = 8 << 20
ALLOWED_HEADERS = ["Authorization", "Authorization-Extras", "Content-Type", "X-Namespace"]  # the UI's, all of them


class CodecServerError(Exception):
    """The codec server cannot serve; the message says why."""


class _Refused(Exception):
    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


@dataclass(frozen=True)
class _Parts:
    namespace: str
    codec: EncryptionCodec
    authenticator: Authenticator
    sessions: async_sessionmaker[AsyncSession]


def build_codec_app(settings: Settings, *, sessions: async_sessionmaker[AsyncSession] | None = None) -> FastAPI:
    """The codec server's application; it opens the store when it starts serving unless handed `sessions`."""
    keyring = settings.payload_keyring()
    if keyring is None:
        raise CodecServerError("no payload key is configured (encryption_key or encryption_keys): nothing to decode")
    origin = settings.resolved_codec_ui_origin
    if settings.environment is Environment.PRODUCTION and (
        settings.codec_ui_origin is None or urlsplit(origin).scheme != "https"
    ):
        raise CodecServerError("in production, set codec_ui_origin to the https origin of the Temporal Web UI")
    # Decoding for a reader: a payload in clear is shown as it is, whatever the environment.
    codec = EncryptionCodec(keyring)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            store = sessions
            if store is None:
                database = create_engine(settings.resolved_store_url, keyring=settings.payload_keyring())
                stack.push_async_callback(database.dispose)
                store = create_session_factory(database)
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0)))
            authenticator = Authenticator(settings, store, http)
            stack.push_async_callback(authenticator.drain)
            app.state.codec = _Parts(settings.temporal_namespace, codec, authenticator, store)
            yield

    return FastAPI(
        openapi_url=None,  # a protocol of Temporal's, not an API of ours
        docs_url=None,
        redoc_url=None,
        routes=[
            Route("/decode", _decode, methods=["POST"]),
            Route("/encode", _encode, methods=["POST"]),
            Route("/healthz", _healthz, methods=["GET"]),
        ],
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=[origin],
                allow_methods=["POST"],
                allow_headers=ALLOWED_HEADERS,
                # The UI sends cookies when told to (TEMPORAL_CODEC_INCLUDE_CREDENTIALS); its fetch then needs this.
                allow_credentials=True,
                max_age=600,
            )
        ],
        lifespan=lifespan,
    )


async def _healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _decode(request: Request) -> Response:
    parts: _Parts = request.app.state.codec
    payloads: list[Payload] | None = None
    try:
        payloads = await _payloads(request)
        caller = await _caller(parts, request)
        _namespace(parts, request)
        reader = await _may_read(parts, caller)
    except _Refused as refused:
        return _refusal(refused, payloads)
    who = {"credential": caller.credential_id, "department": caller.department, "count": len(payloads)}
    if not reader:
        # Info, not warning: the UI asks once per event, so one page of history is a hundred of these.
        log.info("decode refused: not a supervisor, payloads answered encrypted", **who)
        return _answer(payloads)
    decoded = []
    undecodable = []
    for payload in payloads:
        try:
            decoded.append(parts.codec.decrypt(payload))
        except PayloadRefused as refused:
            undecodable.append(str(refused))
            decoded.append(payload)  # shown encrypted; the log says why
    log.info("payloads decoded", **who, undecodable=len(undecodable))
    for reason in sorted(set(undecodable)):
        log.warning("payload left encrypted", reason=reason, credential=caller.credential_id)
    return _answer(decoded)


async def _encode(request: Request) -> Response:
    parts: _Parts = request.app.state.codec
    try:
        payloads = await _payloads(request)
        caller = await _caller(parts, request)
        _namespace(parts, request)
        if caller.kind is not CredentialKind.OPERATOR or not await _may_read(parts, caller):
            raise _Refused(403, "encoding is for operators: supervisors and departments read, they do not write")
    except _Refused as refused:
        return _refusal(refused, None)
    log.info("payloads encoded", credential=caller.credential_id, department=caller.department, count=len(payloads))
    return _answer([parts.codec.encrypt(payload) for payload in payloads])


async def _payloads(request: Request) -> list[Payload]:
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        raise _Refused(413, f"the body is over {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise _Refused(413, f"the body is over {MAX_BODY_BYTES} bytes")
    message = Payloads()
    try:
        json_format.Parse(bytes(body), message, ignore_unknown_fields=True)
    except (json_format.ParseError, DecodeError, UnicodeDecodeError, ValueError):
        raise _Refused(400, 'the body must be {"payloads": [{"metadata": {…}, "data": "…"}]}') from None
    return list(message.payloads)


async def _caller(parts: _Parts, request: Request) -> Caller:
    challenge = {"WWW-Authenticate": 'Bearer realm="caseloop"'}
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _Refused(401, "send Authorization: Bearer <API key or JWT>", headers=challenge)
    try:
        return await parts.authenticator.authenticate(token.strip())
    except CredentialRefused as refused:
        if refused.reason is RefusalReason.ISSUER_UNREACHABLE:
            raise _Refused(503, "the identity platform cannot be reached; retry later") from None
        log.warning("codec credential refused", reason=refused.reason.value, detail=refused.message)
        raise _Refused(401, refused.message, headers=challenge) from None


def _namespace(parts: _Parts, request: Request) -> None:
    named = request.headers.get("x-namespace")
    if not named:
        raise _Refused(400, "send X-Namespace: the namespace the payloads belong to")
    if named != parts.namespace:
        raise _Refused(403, f"this codec server holds the keys of namespace {parts.namespace} only")


async def _may_read(parts: _Parts, caller: Caller) -> bool:
    """An operator, or a department the registry names as a supervisor; either way an active one."""
    async with parts.sessions() as session:
        department = await session.get(Department, caller.department)
        if department is None or not department.active:
            return False
        if caller.kind is CredentialKind.OPERATOR:
            return True
        supervises = await session.scalar(
            select(RegistryRole.id)
            .where(RegistryRole.department_code == caller.department, RegistryRole.role == "supervisor")
            .limit(1)
        )
    return supervises is not None


def _answer(payloads: list[Payload]) -> Response:
    return JSONResponse(_as_json(payloads))


def _as_json(payloads: list[Payload]) -> dict[str, Any]:
    return json_format.MessageToDict(Payloads(payloads=payloads))


def _refusal(refused: _Refused, payloads: list[Payload] | None) -> Response:
    body: dict[str, Any] = {"detail": refused.detail}
    if payloads is not None:
        body |= _as_json(payloads)
    return JSONResponse(body, status_code=refused.status, headers=refused.headers)


async def serve_codec(settings: Settings) -> None:
    """`caseloop codec-server`: serves on bind_host:codec_port until SIGTERM or Ctrl-C."""
    app = build_codec_app(settings)
    host, port = settings.bind_host, settings.codec_port
    listening = bind(host, port, server="the codec server", error=CodecServerError)
    try:
        server = uvicorn.Server(config(app, host, port))
        log.info(
            "codec server serving",
            url=f"http://{host}:{port}",
            namespace=settings.temporal_namespace,
            ui_origin=settings.resolved_codec_ui_origin,
        )
        await server.serve(sockets=[listening])
    finally:
        listening.close()
    if not server.started:
        raise CodecServerError(f"the codec server could not start on {host}:{port}")
