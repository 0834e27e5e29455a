"""The codec server the Temporal Web UI decodes payloads through: clear text for supervisors, ciphertext for others.

It speaks Temporal's codec protocol (`POST /decode`, `POST /encode`, payloads as protobuf JSON) and checks the front
door's credential on every call, presented one of two ways:
- `Authorization: Bearer <API key or JWT>`, for the CLI, scripts and a UI that passes its user's access token;
- a sign-in cookie, for a supervisor in a browser: `GET /session` is a form where the supervisor pastes their API
  key or JWT; the answer sets an HttpOnly, SameSite=Strict cookie holding a random session id. The credential stays
  in this process's memory, is authenticated again on every call (a revoked key stops decoding at once), and the
  session ends with the credential, after `codec_session_hours`, on sign-out, or when the process restarts. The UI
  sends the cookie once its Codec Server setting "Include cross-origin credentials" is on (the page says how).
What each call gets:
- `/decode` answers decoded payloads to a supervisor (a department the registry names as a supervisor of any
  matter or area) or an operator; anyone else gets the payloads back as they sent them, still encrypted, so the UI
  shows ciphertext. A request names no workflow, so a supervisor reads every case of the namespace, as in the UI.
- `/encode` (the UI's signal and start forms) is for operators only: a supervisor reads, it does not write.
- `X-Namespace` must be the configured namespace, and CORS admits the UI's origin only (with credentials); a call
  signed in by cookie must come from that origin.
A refusal of `/decode` also carries the payloads as sent: the UI reads the body whatever the status, and shows
ciphertext rather than nothing.
"""

from __future__ import annotations

import hashlib
import html
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

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
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
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

SESSION_PATH = "/session"
# Over https the cookie takes the __Host- prefix: the browser then keeps it to this host, Secure, on path /.
SESSION_COOKIE = "caseloop-codec-session"
SECURE_SESSION_COOKIE = "__Host-caseloop-codec-session"
MAX_SIGN_INS = 1000  # browsers signed in at once; past it the sign-in closest to its end gives way
MAX_SIGN_IN_BYTES = 16 << 10  # a JWT with many claims is a few kB
_SESSION_ID_CHARS = 43  # secrets.token_urlsafe(32)
# The sign-in page runs no script and loads nothing; it posts its forms to itself only.
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class CodecServerError(Exception):
    """The codec server cannot serve; the message says why."""


class _Refused(Exception):
    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


@dataclass(frozen=True)
class SignIn:
    """A browser's sign-in: the credential behind its cookie, kept in this process only."""

    credential: str = dataclass_field(repr=False)  # an API key or JWT: authenticated again on every call
    department: str
    credential_id: str
    expires_at: datetime


class SignIns:
    """The browsers signed in to this codec server, by session id (the cookie's value).

    Only a SHA-256 digest of each id is kept, so this map cannot hand out a cookie, and a lookup compares digests,
    never ids. A sign-in lasts `lifetime`, never past its credential's own expiry; the map holds `capacity` at most.
    """

    def __init__(self, lifetime: timedelta, *, capacity: int = MAX_SIGN_INS, clock: Clock = _utcnow) -> None:
        self._lifetime = lifetime
        self._capacity = capacity
        self._clock = clock
        self._open: dict[bytes, SignIn] = {}

    def open(self, credential: str, caller: Caller) -> tuple[str, SignIn]:
        """A new session id and its sign-in, for a credential that was just authenticated as `caller`."""
        now = self._clock()
        self._forget_ended(now)
        if len(self._open) >= self._capacity:
            del self._open[min(self._open, key=lambda digest: self._open[digest].expires_at)]
        ends = now + self._lifetime
        if caller.expires_at is not None:
            ends = min(ends, caller.expires_at)
        session_id = secrets.token_urlsafe(32)
        sign_in = SignIn(credential, caller.department, caller.credential_id, ends)
        self._open[_digest(session_id)] = sign_in
        return session_id, sign_in

    def find(self, session_id: str) -> SignIn | None:
        if len(session_id) != _SESSION_ID_CHARS:
            return None
        digest = _digest(session_id)
        sign_in = self._open.get(digest)
        if sign_in is not None and sign_in.expires_at <= self._clock():
            del self._open[digest]
            return None
        return sign_in

    def close(self, session_id: str) -> None:
        self._open.pop(_digest(session_id), None)

    def __len__(self) -> int:
        return len(self._open)

    def _forget_ended(self, now: datetime) -> None:
        for digest in [digest for digest, sign_in in self._open.items() if sign_in.expires_at <= now]:
            del self._open[digest]


def _digest(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


@dataclass(frozen=True)
class _Parts:
    namespace: str
    ui_origin: str
    codec: EncryptionCodec
    authenticator: Authenticator
    sessions: async_sessionmaker[AsyncSession]
    sign_ins: SignIns
    production: bool


def build_codec_app(
    settings: Settings,
    *,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    sign_ins: SignIns | None = None,
) -> FastAPI:
    """The codec server's application; it opens the store when it starts serving unless handed `sessions`, and
    keeps its browsers' sign-ins in `sign_ins` (a new, empty book unless handed one)."""
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
    book = sign_ins if sign_ins is not None else SignIns(timedelta(hours=settings.codec_session_hours))
    production = settings.environment is Environment.PRODUCTION

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
            app.state.codec = _Parts(settings.temporal_namespace, origin, codec, authenticator, store, book, production)
            yield

    return FastAPI(
        openapi_url=None,  # a protocol of Temporal's, not an API of ours
        docs_url=None,
        redoc_url=None,
        routes=[
            Route("/decode", _decode, methods=["POST"]),
            Route("/encode", _encode, methods=["POST"]),
            Route("/healthz", _healthz, methods=["GET"]),
            Route(SESSION_PATH, _session_page, methods=["GET"]),
            Route(SESSION_PATH, _sign_in, methods=["POST"]),
            Route(f"{SESSION_PATH}/end", _sign_out, methods=["POST"]),
        ],
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=[origin],
                allow_methods=["POST"],
                allow_headers=ALLOWED_HEADERS,
                # The UI sends the sign-in cookie when its "Include cross-origin credentials" is on (in the
                # browser's Codec Server setting, or TEMPORAL_CODEC_INCLUDE_CREDENTIALS of a standalone UI server);
                # its fetch then reads the answer only with this. The origin above is the UI's alone, never "*".
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
    """Who is calling: by the Authorization header, else by the sign-in cookie; authenticated now, every call."""
    challenge = {"WWW-Authenticate": 'Bearer realm="caseloop"'}
    authorization = request.headers.get("authorization")
    session_id = request.cookies.get(_cookie_name(parts, request))
    if authorization is None and session_id is not None:
        sign_in = parts.sign_ins.find(session_id)
        if sign_in is None:
            raise _Refused(401, f"the sign-in has ended: sign in again at {SESSION_PATH}", headers=challenge)
        if request.headers.get("origin") != parts.ui_origin:
            # A signed-in browser decodes for the UI's page only; SameSite already keeps other sites out.
            raise _Refused(403, "a signed-in browser may call the codec server from the Temporal Web UI only")
        try:
            return await _authenticated(parts, sign_in.credential)
        except _Refused:
            parts.sign_ins.close(session_id)  # revoked or expired meanwhile: the sign-in ends with it
            raise
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _Refused(
            401, f"send Authorization: Bearer <API key or JWT>, or sign in at {SESSION_PATH}", headers=challenge
        )
    return await _authenticated(parts, token.strip())


async def _authenticated(parts: _Parts, credential: str) -> Caller:
    try:
        return await parts.authenticator.authenticate(credential)
    except CredentialRefused as refused:
        if refused.reason is RefusalReason.ISSUER_UNREACHABLE:
            raise _Refused(503, "the identity platform cannot be reached; retry later") from None
        log.warning("codec credential refused", reason=refused.reason.value, detail=refused.message)
        raise _Refused(401, refused.message, headers={"WWW-Authenticate": 'Bearer realm="caseloop"'}) from None


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


def _secure(parts: _Parts, request: Request) -> bool:
    """Whether the cookie is https-only: served over https, or in production (TLS may end at a proxy before us)."""
    return parts.production or request.url.scheme == "https"


def _cookie_name(parts: _Parts, request: Request) -> str:
    return SECURE_SESSION_COOKIE if _secure(parts, request) else SESSION_COOKIE


async def _session_page(request: Request) -> Response:
    """The sign-in form, or who is signed in and how to make the UI send the cookie."""
    parts: _Parts = request.app.state.codec
    session_id = request.cookies.get(_cookie_name(parts, request))
    sign_in = parts.sign_ins.find(session_id) if session_id is not None else None
    if sign_in is None:
        return _page(_sign_in_form(None))
    try:
        caller = await _authenticated(parts, sign_in.credential)
    except _Refused as refused:
        if refused.status == 401:
            parts.sign_ins.close(session_id or "")
        return _page(_sign_in_form(refused.detail), status=refused.status)
    reader = await _may_read(parts, caller)
    return _page(_signed_in(parts, request, sign_in, reader))


async def _sign_in(request: Request) -> Response:
    parts: _Parts = request.app.state.codec
    try:
        _same_origin_form(request)
        credential = await _form_credential(request)
        caller = await _authenticated(parts, credential)
    except _Refused as refused:
        return _page(_sign_in_form(refused.detail), status=refused.status)
    reader = await _may_read(parts, caller)
    session_id, sign_in = parts.sign_ins.open(credential, caller)
    log.info(
        "codec sign-in",
        credential=caller.credential_id,
        department=caller.department,
        reader=reader,
        until=sign_in.expires_at.isoformat(timespec="seconds"),
    )
    # 303: the browser fetches the page with GET, so a reload does not post the credential again.
    answer = RedirectResponse(SESSION_PATH, status_code=303, headers=_PAGE_HEADERS)
    answer.set_cookie(
        _cookie_name(parts, request),
        session_id,
        max_age=max(1, int((sign_in.expires_at - _utcnow()).total_seconds())),
        path="/",
        secure=_secure(parts, request),
        httponly=True,  # no script, the UI's included, can read it
        samesite="strict",  # sent by same-site pages only: the UI on this host, never another site's page
    )
    return answer


async def _sign_out(request: Request) -> Response:
    parts: _Parts = request.app.state.codec
    try:
        _same_origin_form(request)
    except _Refused as refused:
        return _page(_sign_in_form(refused.detail), status=refused.status)
    name = _cookie_name(parts, request)
    session_id = request.cookies.get(name)
    if session_id is not None:
        sign_in = parts.sign_ins.find(session_id)
        parts.sign_ins.close(session_id)
        if sign_in is not None:
            log.info("codec sign-out", credential=sign_in.credential_id, department=sign_in.department)
    answer = RedirectResponse(SESSION_PATH, status_code=303, headers=_PAGE_HEADERS)
    answer.delete_cookie(name, path="/", secure=_secure(parts, request), httponly=True, samesite="strict")
    return answer


def _same_origin_form(request: Request) -> None:
    """A sign-in or sign-out is posted by this server's own page, not by a form on another site (login CSRF)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        if site not in ("same-origin", "none"):
            raise _Refused(403, "sign in from this page: a form on another site may not sign you in or out")
        return
    origin = request.headers.get("origin")  # a browser without Fetch Metadata still names the origin of a form
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
        raise _Refused(403, "sign in from this page: a form on another site may not sign you in or out")


async def _form_credential(request: Request) -> str:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_SIGN_IN_BYTES:
            raise _Refused(413, f"credential: the form is over {MAX_SIGN_IN_BYTES} bytes")
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=4)
    except (UnicodeDecodeError, ValueError):
        raise _Refused(400, "credential: send the form of this page (application/x-www-form-urlencoded)") from None
    credential = (fields.get("credential") or [""])[0].strip()
    if not credential:
        raise _Refused(400, "credential: paste your API key (clk_…) or JWT")
    return credential


def _page(content: str, *, status: int = 200) -> HTMLResponse:
    document = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>caseloop codec server: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}
input[type=password]{{width:100%;font-family:monospace;padding:.4rem}}button{{padding:.4rem 1rem}}
.refused{{color:#a00}}code{{background:#eee;padding:0 .2rem}}</style></head>
<body><h1>caseloop codec server</h1>{content}</body></html>"""
    return HTMLResponse(document, status_code=status, headers=_PAGE_HEADERS)


def _sign_in_form(refusal: str | None) -> str:
    said = f'<p class="refused" role="alert">{html.escape(refusal)}</p>' if refusal else ""
    return f"""{said}
<p>Sign in to read cases in the Temporal Web UI: paste the API key (or JWT) of your department. A supervisor's
credential decodes payloads; any other shows them encrypted. The credential is checked again on every decode.</p>
<form method="post" action="{SESSION_PATH}">
<p><label for="credential">API key or JWT</label><br>
<input type="password" id="credential" name="credential" autocomplete="off" required></p>
<p><button type="submit">Sign in</button></p></form>"""


def _signed_in(parts: _Parts, request: Request, sign_in: SignIn, reader: bool) -> str:
    endpoint = f"{request.url.scheme}://{request.url.netloc}"
    ui = html.escape(parts.ui_origin)
    reads = (
        "It supervises: the Temporal Web UI shows this namespace's payloads decoded."
        if reader
        else "It is no supervisor: the Temporal Web UI shows payloads encrypted."
    )
    return f"""<p id="signed-in">Signed in as department <strong>{html.escape(sign_in.department)}</strong>
(<code>{html.escape(sign_in.credential_id)}</code>) until {sign_in.expires_at.isoformat(timespec="minutes")}.
{reads}</p>
<p>Once per browser, make the UI send this sign-in: in the <a href="{ui}">Temporal Web UI</a>, open the Codec Server
setting (the button at the top right), choose <em>Use my browser setting and ignore Cluster-level setting</em>, enter
<code>{html.escape(endpoint)}</code>, switch on <em>Include cross-origin credentials</em>, and Apply.</p>
<form method="post" action="{SESSION_PATH}/end"><button type="submit">Sign out</button></form>"""


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
            sign_in=f"http://{host}:{port}{SESSION_PATH}",
            namespace=settings.temporal_namespace,
            ui_origin=settings.resolved_codec_ui_origin,
        )
        await server.serve(sockets=[listening])
    finally:
        listening.close()
    if not server.started:
        raise CodecServerError(f"the codec server could not start on {host}:{port}")
