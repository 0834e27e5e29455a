"""Every error the door answers, as RFC 9457 problem details with caseloop's `rule` and `field`.

Handlers raise `DoorProblem`; the engine's typed errors become problems in `from_engine`. Problem text is the
door's own: what Temporal, the store or a library said stays in the log, never in an answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from caseloop.errors import CommandError, CommandTimeout, InputRejected, NotFound, Unreachable
from schemas.api import Problem, ProblemError

log = structlog.get_logger(__name__)

MEDIA_TYPE = "application/problem+json"


class Kind(Enum):
    """A problem type: its slug under the problem base, its status and its title."""

    RULE_REFUSED = ("rule-refused", 422, "A rule refused the request; nothing was changed")
    INVALID_REQUEST = ("invalid-request", 422, "The request is not valid")
    IDEMPOTENCY_KEY_REUSED = ("idempotency-key-reused", 422, "The Idempotency-Key was used for another request")
    IDEMPOTENCY_KEY_IN_FLIGHT = ("idempotency-key-in-flight", 409, "A request with this Idempotency-Key is in flight")
    UNAUTHENTICATED = ("unauthenticated", 401, "The credential is missing or not accepted")
    FORBIDDEN = ("forbidden", 403, "The credential's department may not do this")
    NOT_FOUND = ("not-found", 404, "Not found")
    METHOD_NOT_ALLOWED = ("method-not-allowed", 405, "The method is not allowed here")
    TOO_LARGE = ("request-too-large", 413, "The request body is too large")
    TOO_MANY_REQUESTS = ("too-many-requests", 429, "Too many requests from this address; retry later")
    INTERNAL = ("internal-error", 500, "The door failed; the request may be retried with the same Idempotency-Key")
    UNAVAILABLE = ("unavailable", 503, "The engine cannot be reached; retry later")
    TIMEOUT = ("timeout", 504, "No answer in time; retry with the same Idempotency-Key")

    @property
    def slug(self) -> str:
        return str(self.value[0])

    @property
    def status(self) -> int:
        return int(self.value[1])

    @property
    def title(self) -> str:
        return str(self.value[2])


@dataclass
class DoorProblem(Exception):
    kind: Kind
    detail: str | None = None
    rule: str | None = None
    field: str | None = None
    command_id: str | None = None
    errors: Sequence[ProblemError] | None = None
    headers: dict[str, str] | None = None

    def problem(self, base: str) -> Problem:
        return Problem(
            type=f"{base}{self.kind.slug}",
            title=self.kind.title,
            status=self.kind.status,
            detail=self.detail,
            rule=self.rule,
            field=self.field,
            command_id=self.command_id,
            errors=list(self.errors) if self.errors is not None else None,
        )

    def response(self, base: str) -> JSONResponse:
        body = self.problem(base).model_dump(mode="json", exclude_none=True)
        return JSONResponse(body, status_code=self.kind.status, media_type=MEDIA_TYPE, headers=self.headers)


# The rules the workflows name when the actor holds no such part in the case or hand-off: identity, not a rule of
# the case, so the door answers them 403 (or 404 to a department that is no party at all).
ACTOR_RULES = frozenset(
    {
        "actor.role",
        "actor.department",
        "actor.receiver",
        "actor.claimant",
        "actor.originator",
        "actor.coordinator",
        "actor.coordinator-or-originator",
        "actor.party",
    }
)


def from_engine(error: CommandError, *, subject: str, command_id: str | None = None) -> DoorProblem:
    """The problem for an engine error. Rule refusals keep their message (the rules' own words); anything from
    Temporal itself is reduced to what it means."""
    if isinstance(error, InputRejected):
        if error.rule == "temporal.invalid":
            return DoorProblem(Kind.INVALID_REQUEST, f"{subject}: the request was refused", rule=error.rule)
        return DoorProblem(Kind.RULE_REFUSED, str(error), rule=error.rule, field=error.field)
    if isinstance(error, NotFound):
        return DoorProblem(Kind.NOT_FOUND, f"{subject} does not exist or is not visible to this department")
    if isinstance(error, CommandTimeout):
        if command_id is None:
            return DoorProblem(Kind.TIMEOUT, f"{subject}: no answer in time")
        return DoorProblem(
            Kind.TIMEOUT,
            f"{subject}: no answer in time; the command may or may not be applied: send it again with "
            f"Idempotency-Key {command_id}, which applies it at most once",
            command_id=command_id,
        )
    if isinstance(error, Unreachable):
        log.warning("engine unreachable", subject=subject, error=str(error))
        return DoorProblem(Kind.UNAVAILABLE, "the engine cannot be reached; retry later")
    log.error("engine failed", subject=subject, error=str(error), kind=type(error).__name__)
    return DoorProblem(Kind.UNAVAILABLE, f"{subject}: the engine could not answer; retry later")


def not_found(subject: str) -> DoorProblem:
    return DoorProblem(Kind.NOT_FOUND, f"{subject} does not exist or is not visible to this department")


def forbidden(detail: str, *, rule: str, field: str | None = None) -> DoorProblem:
    return DoorProblem(Kind.FORBIDDEN, detail, rule=rule, field=field)


def _pointer(location: Sequence[Any]) -> str:
    return "#/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in location)


def validation_problem(error: RequestValidationError) -> DoorProblem:
    """Pydantic's findings as `errors[]`: a JSON pointer for the body, the parameter's name otherwise."""
    found: list[ProblemError] = []
    fields: list[str] = []
    for item in error.errors():
        location = list(item.get("loc", ()))
        source = location[0] if location else "body"
        rest = location[1:]
        # A validator's own message may quote the input: keep pydantic's words, and never the input itself.
        detail = str(item.get("msg", "invalid"))
        if source == "body":
            found.append(ProblemError(detail=detail, pointer=_pointer(rest), rule=item.get("type")))
            fields.append(".".join(str(part) for part in rest) or "body")
        else:
            name = str(rest[0]) if rest else str(source)
            found.append(ProblemError(detail=detail, parameter=name, rule=item.get("type")))
            fields.append(name)
    first = found[0] if found else None
    summary = f"{fields[0]}: {first.detail}" if first is not None and fields else "the request is not valid"
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return DoorProblem(
        Kind.INVALID_REQUEST,
        summary + more,
        rule=first.rule if first else None,
        field=fields[0] if fields else None,
        errors=found,
    )


_STATUS_KINDS = {kind.status: kind for kind in (Kind.NOT_FOUND, Kind.METHOD_NOT_ALLOWED, Kind.TOO_LARGE)}


def install(app: FastAPI, base: str) -> None:
    """Answers every error as problem details: the door's own, validation, unknown routes, anything unforeseen."""

    async def door_problem(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, DoorProblem)
        return error.response(base)

    async def invalid(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return validation_problem(error).response(base)

    async def http_error(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        kind = _STATUS_KINDS.get(error.status_code)
        if kind is None:
            # FastAPI says 400 for a body it cannot parse: to clients that is one more invalid request.
            kind = Kind.INVALID_REQUEST if 400 <= error.status_code < 500 else Kind.INTERNAL
        detail = {Kind.NOT_FOUND: "no such resource", Kind.INVALID_REQUEST: "the body is not valid JSON"}.get(kind)
        # The body as a whole is what a JSON parser refuses, whether its syntax or its depth.
        rule, field = ("json.invalid", "body") if kind is Kind.INVALID_REQUEST else (None, None)
        headers = dict(error.headers) if error.headers else None
        return DoorProblem(kind, detail, rule=rule, field=field, headers=headers).response(base)

    async def unforeseen(request: Request, error: Exception) -> JSONResponse:
        log.error("request failed", path=request.url.path, method=request.method, exc_info=error)
        return DoorProblem(Kind.INTERNAL).response(base)

    app.add_exception_handler(DoorProblem, door_problem)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unforeseen)
