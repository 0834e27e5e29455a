"""One HTTP hop to the front door: requests with the credential, answers as JSON, problems as caseloop's typed errors.

A command's id travels as its `Idempotency-Key`, so a retry with the same id answers the first result and is
applied at most once. Problem types (RFC 9457, `application/problem+json`) map to the errors as follows:

- `rule-refused`, `invalid-request`, `idempotency-key-reused` (422): `InputRejected` with its rule and field;
- 404: `NotFound`; 401 and 403: `Forbidden`, with the rule and field when the door names them;
- 503, or no connection at all: `Unreachable`, naming the URL;
- 504, or no answer within `within` seconds: `CommandTimeout`, naming the command id to retry with;
- 409 `idempotency-key-in-flight` (the first attempt of this command id has not answered yet): the call asks
  again, a little later each time, until `within` runs out, then raises `CommandTimeout` with the command id.

A connection that breaks off before an answer (most often a kept-alive one the door had just closed as idle) is
tried again, a few times, for a request that is safe to send twice: a read, or a command with its id.
"""

from __future__ import annotations

import asyncio
import math
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies

import httpx

from caseloop.errors import CommandError, Forbidden, NotFound, Unreachable
from caseloop.sdk.failures import rejected, timed_out

PROBLEM_JSON = "application/problem+json"
REJECTIONS = frozenset({"rule-refused", "invalid-request", "idempotency-key-reused"})
IN_FLIGHT = "idempotency-key-in-flight"
# How long to wait before asking again about a command whose first attempt is in flight.
FIRST_PAUSE, LONGEST_PAUSE = 0.1, 2.0
# How often a request safe to send twice is sent again after its connection broke off before an answer.
RESENDS_AFTER_BREAK = 3
BROKEN_OFF = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


@dataclass(frozen=True)
class Call:
    """What a request is about, for the messages: the subject and, for a command, its id."""

    subject: str
    command_id: str | None = None


class Transport:
    """The door's base URL, the credential, and how long a call waits by default (None: no limit)."""

    def __init__(self, url: str, api_key: str, *, within: float | None, http: httpx.AsyncClient | None = None) -> None:
        self.url = url.rstrip("/")
        self.within = within
        self._http = http or httpx.AsyncClient(
            base_url=self.url,
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            # The call's own deadline (`within`) bounds every request; httpx's per-phase timeouts would cut it up.
            timeout=None,
            verify=_verify(self.url),
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def get(
        self, path: str, *, subject: str, params: Mapping[str, Any] | None = None, within: float | None = None
    ) -> Any:
        return await self._request("GET", path, Call(subject), params=params, within=within)

    async def post(
        self,
        path: str,
        body: Any,
        *,
        subject: str,
        command_id: str | None = None,
        within: float | None = None,
    ) -> Any:
        """A POST; with `command_id`, sent as the Idempotency-Key and retried while its first attempt is in flight."""
        return await self._request("POST", path, Call(subject, command_id), body=body, within=within)

    async def _request(
        self,
        method: str,
        path: str,
        call: Call,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        within: float | None,
    ) -> Any:
        seconds = self.within if within is None else within
        headers = {"Idempotency-Key": call.command_id} if call.command_id is not None else {}
        if seconds is not None:
            # RFC 7240: how long the caller waits, so the door need not hold on to the engine for longer.
            headers["Prefer"] = f"wait={max(1, math.ceil(seconds))}"
        query = _query(params) if params else None
        resends = RESENDS_AFTER_BREAK if method == "GET" or call.command_id is not None else 0
        try:
            async with asyncio.timeout(seconds):
                pause = FIRST_PAUSE
                while True:
                    try:
                        response = await self._http.request(method, path, params=query, json=body, headers=headers)
                    except BROKEN_OFF:
                        if resends == 0:
                            raise
                        resends -= 1
                        continue
                    if response.status_code == 409 and _problem_type(response) == IN_FLIGHT:
                        await asyncio.sleep(pause)
                        pause = min(pause * 2, LONGEST_PAUSE)
                        continue
                    break
        except TimeoutError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError from None  # the caller cancelled: not a timeout
            raise timed_out(call.subject, call.command_id, seconds) from None
        except httpx.TimeoutException:
            raise timed_out(call.subject, call.command_id, seconds) from None
        except httpx.TransportError as error:
            raise Unreachable(f"cannot reach the caseloop API at {redacted(self.url)}: {_reason(error)}") from error
        if response.is_success:
            return response.json() if response.content else None
        raise problem_error(response, call, redacted(self.url))


def _verify(url: str) -> ssl.SSLContext | bool:
    """How the client checks TLS: httpx's own way (its CA bundle) for an https door or one behind a proxy. A plain
    http door reached directly makes no TLS connection at all (every request goes to the base URL, no redirect is
    followed), so it gets a context trusting no CA, which fails any handshake, instead of loading the bundle
    (about 25 ms of a short command's start)."""
    if urlsplit(url).scheme == "http" and not [kind for kind in getproxies() if kind != "no"]:
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies certificates and host names, against no CA
    return True


def problem_error(response: httpx.Response, call: Call, url: str) -> CommandError:
    """The typed error of a failed answer, from its problem details (or its status, when it has none)."""
    problem = _problem(response)
    status = response.status_code
    kind = _problem_type(response)
    detail = str(problem.get("detail") or problem.get("title") or response.reason_phrase or status)
    message = detail if call.subject in detail else f"{call.subject}: {detail}"
    named = problem.get("rule"), problem.get("field")
    rule, field = (value if isinstance(value, str) else None for value in named)
    if status == 422 or kind in REJECTIONS:
        return rejected(message, rule, field)
    if status == 404:
        return NotFound(message)
    if status in (401, 403):
        return Forbidden(message, rule=rule, field=field)
    if status == 504:
        command_id = problem.get("command_id") or call.command_id
        return timed_out(call.subject, command_id if isinstance(command_id, str) else None, None)
    if status in (502, 503):
        return Unreachable(f"the caseloop API at {url} cannot serve {call.subject} now: {detail}")
    return CommandError(f"{message} (HTTP {status})")


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _problem_type(response: httpx.Response) -> str | None:
    """The problem type's last path segment (`rule-refused`), whatever base URI the door is configured with."""
    kind = _problem(response).get("type")
    return kind.rstrip("/").rsplit("/", 1)[-1] if isinstance(kind, str) else None


def _query(params: Mapping[str, Any]) -> list[tuple[str, str | int | float | bool | None]]:
    """Query parameters; a sequence repeats its parameter (any of them), None leaves it out."""
    pairs: list[tuple[str, str | int | float | bool | None]] = []
    for name, value in params.items():
        values = value if isinstance(value, list | tuple | set | frozenset) else [value]
        pairs += [(name, _text(item)) for item in values if item is not None]
    return pairs


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value.value if hasattr(value, "value") else value)


def redacted(url: str) -> str:
    """A door URL fit for messages: no user, password, query or fragment (a credential may hide in any)."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "(a malformed URL)"
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else "(a malformed URL)"


def _reason(error: httpx.TransportError) -> str:
    """What went wrong on the way to the door, in plain words: the transport's own text may carry the URL's
    credentials and means little to the reader."""
    causes: list[BaseException] = []
    seen: BaseException | None = error
    while seen is not None and len(causes) < 10:
        causes.append(seen)
        seen = seen.__cause__ or seen.__context__
    for cause in causes:
        if isinstance(cause, socket.gaierror):
            return "its host name does not resolve"
        if isinstance(cause, ssl.SSLError):
            return "the TLS handshake failed"
        if isinstance(cause, ConnectionRefusedError):
            return "nothing accepts connections there (is `caseloop up` or `caseloop api` running?)"
        if isinstance(cause, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
            return "the connection broke off before an answer"
    return "no connection could be made"
