"""The FastAPI dependencies every route stands on: the door's parts, the authenticated caller, the Idempotency-Key.

The caller is whoever the bearer credential says, never what a body says; a JWT's department must also be one
the registry knows, since the identity platform only names it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, TypeVar

import structlog
from fastapi import Depends, Header, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store.registry import RegistryRepository
from caseloop.direct import CaseClient
from caseloop.errors import CommandError
from schemas.access import Caller, RefusalReason
from workers.door.credentials import Authenticator, CredentialRefused
from workers.door.idempotency import HEADER, Idempotency, parse_key
from workers.door.problems import DoorProblem, Kind, from_engine
from workers.settings import Settings

log = structlog.get_logger(__name__)

DEFAULT_COMMAND_SECONDS = 30.0
DEFAULT_IDEMPOTENCY_HOURS = 24
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

T = TypeVar("T")


@dataclass(frozen=True)
class DoorOptions:
    """The door's own limits, from the settings `api_command_seconds`, `api_idempotency_hours` and
    `api_max_body_bytes`."""

    command_seconds: float = DEFAULT_COMMAND_SECONDS
    idempotency_retention: timedelta = timedelta(hours=DEFAULT_IDEMPOTENCY_HOURS)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    @classmethod
    def of(cls, settings: Settings) -> DoorOptions:
        return cls(
            command_seconds=settings.api_command_seconds,
            idempotency_retention=timedelta(hours=settings.api_idempotency_hours),
            max_body_bytes=settings.api_max_body_bytes,
        )

    @property
    def stale_after(self) -> timedelta:
        """A claim older than this belongs to a request that can no longer answer: the command's wait and a margin."""
        return timedelta(seconds=self.command_seconds + 30)


@dataclass(frozen=True)
class Door:
    settings: Settings
    options: DoorOptions
    engine: CaseClient
    sessions: async_sessionmaker[AsyncSession]
    authenticator: Authenticator
    idempotency: Idempotency

    @property
    def problem_base(self) -> str:
        return self.settings.problem_base

    async def ask(self, subject: str, work: Awaitable[T]) -> T:
        """An engine call's answer; what the engine raises becomes the door's problem about `subject`."""
        try:
            return await work
        except CommandError as error:
            raise from_engine(error, subject=subject) from None


async def door(request: Request) -> Door:
    found: Door = request.app.state.door
    return found


DoorDep = Annotated[Door, Depends(door)]

bearer = HTTPBearer(
    scheme_name="bearer",
    description="A department's API key (clk_…) or a JWT from the city's identity platform",
    auto_error=False,
)


async def caller(
    parts: DoorDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
) -> Caller:
    if credentials is None:
        raise _unauthenticated(RefusalReason.MISSING, "send Authorization: Bearer <API key or JWT>")
    try:
        found = await parts.authenticator.authenticate(credentials.credentials)
    except CredentialRefused as refused:
        if refused.reason is RefusalReason.ISSUER_UNREACHABLE:
            raise DoorProblem(Kind.UNAVAILABLE, "the identity platform cannot be reached; retry later") from None
        raise _unauthenticated(refused.reason, refused.message) from None
    if found.credential_id.startswith("jwt:"):
        async with parts.sessions() as session:
            department = await RegistryRepository(session).get_department(found.department)
        if department is None or not department.active:
            log.warning("jwt for an unknown department", credential=found.credential_id, department=found.department)
            raise _unauthenticated(RefusalReason.NO_DEPARTMENT, "the JWT names no active department of the registry")
    structlog.contextvars.bind_contextvars(credential=found.credential_id, department=found.department)
    return found


def _unauthenticated(reason: RefusalReason, detail: str) -> DoorProblem:
    return DoorProblem(
        Kind.UNAUTHENTICATED,
        detail,
        rule=f"credential.{reason.value}",
        headers={"WWW-Authenticate": 'Bearer realm="caseloop"'},
    )


CallerDep = Annotated[Caller, Depends(caller)]


async def idempotency_key(
    value: Annotated[
        str | None,
        Header(
            alias=HEADER,
            max_length=204,
            description="The command id: a retry under the same key answers the first result (IETF "
            "draft-ietf-httpapi-idempotency-key-header); quoted or bare, 1 to 100 printable ASCII characters",
        ),
    ] = None,
) -> str | None:
    return parse_key(value)


KeyDep = Annotated[str | None, Depends(idempotency_key)]
