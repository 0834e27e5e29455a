"""Sending a case or hand-off command through the door: the actor from the credential, the Idempotency-Key as the
command id, one update to the engine, and the engine's refusals turned into 403, 404 or 422.

The happy path is one Temporal round trip: nothing is read before the update. Only a refused command reads the
case's parties, to tell a party lacking the role (403) from a department with no part in it (404). A hand-off's
coordinator commands are the exception: the workflow cannot know the registry's coordinator, so the door looks it
up first.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Collection
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from caseloop.direct.cases import COMMANDS as CASE_COMMANDS
from caseloop.direct.handoffs import COMMANDS as HANDOFF_COMMANDS
from caseloop.errors import CommandError, InputRejected
from schemas import handoff as h
from schemas.access import Caller
from schemas.actors import Role
from schemas.api import CaseActing, HandoffActing
from schemas.case.commands import Actor
from services.registry.roles import handoff_coordinator
from workers.door import access
from workers.door.deps import CallerDep, Door, DoorDep, KeyDep
from workers.door.idempotency import Answer, command_id, fingerprint
from workers.door.problems import DoorProblem, Kind, from_engine, not_found

ACTING_FIELDS = frozenset({"role", "actor_department", "on_behalf_of", "on_behalf_reason"})

# What a route hands a command to: the door's parts, the caller, its Idempotency-Key, the request, the case or
# hand-off id, the command's name and its body.
Handler = Callable[[Door, Caller, str | None, Request, str, str, Any], Awaitable[Response]]


def add_command_route(
    router: APIRouter,
    path: str,
    *,
    name: str,
    operation_id: str,
    target: tuple[str, Any],
    body_model: type[BaseModel],
    response_model: type[BaseModel],
    summary: str,
    handler: Handler,
) -> None:
    """One POST route per command: `target` is the path parameter naming the case or hand-off, with its type."""
    target_name, target_type = target

    async def endpoint(
        parts: Door, caller: Caller, key: str | None, request: Request, body: Any, **path: str
    ) -> Response:
        return await handler(parts, caller, key, request, path[target_name], name, body)

    # FastAPI reads the signature: give it the body's model of this command and the path parameter of its resource.
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("parts", positional, annotation=DoorDep),
            inspect.Parameter("caller", positional, annotation=CallerDep),
            inspect.Parameter("key", positional, annotation=KeyDep),
            inspect.Parameter("request", positional, annotation=Request),
            inspect.Parameter(target_name, positional, annotation=target_type),
            inspect.Parameter("body", positional, annotation=Annotated[body_model, Body()]),
        ],
        return_annotation=Response,
    )
    endpoint.__name__ = operation_id
    router.add_api_route(
        path,
        endpoint,
        methods=["POST"],
        response_model=response_model,
        summary=summary,
        description=(body_model.__doc__ or "").strip(),
        operation_id=operation_id,
    )


def _command(model: type[BaseModel], body: BaseModel, actor: BaseModel) -> Any:
    fields = {name: getattr(body, name) for name in type(body).model_fields if name not in ACTING_FIELDS}
    try:
        return model.model_validate({**fields, "actor": actor})
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise DoorProblem(Kind.INVALID_REQUEST, f"{field}: {first['msg']}", rule=first["type"], field=field) from None


async def case_command(
    parts: Door, caller: Caller, key: str | None, request: Request, case_id: str, name: str, body: CaseActing
) -> Response:
    actor = access.case_actor(caller, name, body)
    _update, model = CASE_COMMANDS[name]
    command = _command(model, body, actor)
    refusal = functools.partial(_case_refusal, parts, caller, actor, case_id, name)
    handle = parts.engine.case_by_id(case_id)
    return await _send(parts, caller, key, request, f"case {case_id}", handle.send, command, refusal)


async def handoff_command(
    parts: Door, caller: Caller, key: str | None, request: Request, handoff_id: str, name: str, body: HandoffActing
) -> Response:
    actor = access.handoff_actor(caller, name, body)
    _update, model = HANDOFF_COMMANDS[name]
    command = _command(model, body, actor)
    if actor.role is Role.COORDINATOR:
        await _require_coordinator(parts, caller, actor.department, handoff_id, name)
    refusal = functools.partial(_handoff_refusal, parts, caller, actor, handoff_id, name)
    handle = parts.engine.handoff(handoff_id)
    return await _send(parts, caller, key, request, f"hand-off {handoff_id}", handle.send, command, refusal)


async def _send(
    parts: Door,
    caller: Caller,
    key: str | None,
    request: Request,
    subject: str,
    send: Callable[..., Awaitable[BaseModel]],
    command: BaseModel,
    refusal: Callable[[InputRejected], Awaitable[DoorProblem]],
) -> Response:
    """Sends the command once per Idempotency-Key, under the caller's command id; a retry answers the first result."""

    async def attempt(key: str) -> Answer:
        try:
            result = await send(
                command, command_id=command_id(caller.department, key), within=parts.options.command_seconds
            )
        except InputRejected as rejected:
            raise await refusal(rejected) from None
        except CommandError as error:
            raise from_engine(error, subject=subject, command_id=key) from None
        return Answer(200, result.model_dump(mode="json"))

    return await parts.idempotency.run(caller.department, key, await _fingerprint(request), attempt)


async def _case_refusal(
    parts: Door, caller: Caller, actor: Actor, case_id: str, name: str, rejected: InputRejected
) -> DoorProblem:
    """Reads the case's parties to answer a refused command; a failing read is answered as such."""
    subject = f"case {case_id}"
    view = await parts.ask(subject, parts.engine.case_by_id(case_id).state(within=parts.options.command_seconds))
    parties = access.case_parties(view)
    holds = access.holds_case_role(view, actor)
    return _refusal(caller, actor.department, subject, name, rejected, parties, holds)


async def handoff_coordinator_of(parts: Door, handoff_id: str) -> str | None:
    """The registry's coordinator for the hand-off's matter and locality (one describe, one registry read)."""
    subject = f"hand-off {handoff_id}"
    placement = parts.engine.handoff(handoff_id).placement(within=parts.options.command_seconds)
    matter, locality = await parts.ask(subject, placement)
    if matter is None:
        raise not_found(subject)
    async with parts.sessions() as session:
        return await handoff_coordinator(session, matter, locality)


async def _require_coordinator(parts: Door, caller: Caller, department: str, handoff_id: str, name: str) -> None:
    coordinator = await handoff_coordinator_of(parts, handoff_id)
    if coordinator is not None and coordinator == department:
        return
    subject = f"hand-off {handoff_id}"
    view = await parts.ask(subject, parts.engine.handoff(handoff_id).view(within=parts.options.command_seconds))
    raise access.refusal(
        caller,
        department,
        subject=subject,
        command=name,
        rule="actor.coordinator",
        parties=access.handoff_parties(view, coordinator),
        field="role",
        detail=f"{department} is not the coordinator the registry names for {subject}",
    )


async def _handoff_refusal(
    parts: Door, caller: Caller, actor: h.Actor, handoff_id: str, name: str, rejected: InputRejected
) -> DoorProblem:
    subject = f"hand-off {handoff_id}"
    view = await parts.ask(subject, parts.engine.handoff(handoff_id).view(within=parts.options.command_seconds))
    parties = access.handoff_parties(view)
    if not access.can_read(caller, parties):
        parties = access.handoff_parties(view, await handoff_coordinator_of(parts, handoff_id))
    holds = access.holds_handoff_role(view, actor)
    return _refusal(caller, actor.department, subject, name, rejected, parties, holds)


def _refusal(
    caller: Caller,
    department: str,
    subject: str,
    name: str,
    rejected: InputRejected,
    parties: Collection[str],
    holds: bool | None,
) -> DoorProblem:
    """A refused command's answer: 403 or 404 (as `access.refusal` decides) when the actor was refused for who it
    is, when its department does not hold the role, or when the caller is no party; the rule's own 422 otherwise."""
    actor_rule = access.is_actor_rule(rejected.rule)
    if actor_rule or holds is False or not access.can_read(caller, parties):
        return access.refusal(
            caller,
            department,
            subject=subject,
            command=name,
            rule=rejected.rule if actor_rule else "actor.role",
            parties=parties,
            field="role",
            detail=str(rejected) if actor_rule else None,
        )
    return from_engine(rejected, subject=subject)


async def _fingerprint(request: Request) -> str:
    return fingerprint(request.method, request.url.path, await request.body())
