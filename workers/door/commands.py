"""Sending a case or hand-off command through the door: the actor from the credential, the Idempotency-Key as the
command id, one update to the engine, and the engine's refusals turned into 403, 404 or 422.

The happy path is one Temporal round trip: nothing is read before the update. Only a refused command reads the
case's parties, to tell a party lacking the role (403) from a department with no part in it (404). A hand-off's
coordinator commands are the exception: the workflow cannot know the registry's coordinator, so the door looks it
up first.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from activities.registry.roles import handoff_coordinator
from caseloop.direct.cases import COMMANDS as CASE_COMMANDS
from caseloop.direct.handoffs import COMMANDS as HANDOFF_COMMANDS
from caseloop.errors import CommandError, InputRejected
from schemas import handoff as h
from schemas.access import Caller
from schemas.api import CaseActing, HandoffActing
from schemas.case.commands import Actor
from workers.door import access
from workers.door.deps import Door
from workers.door.idempotency import Answer, command_id, fingerprint
from workers.door.problems import DoorProblem, Kind, from_engine, not_found

ACTING_FIELDS = frozenset({"role", "actor_department", "on_behalf_of", "on_behalf_reason"})


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
    handle = parts.engine.case_by_id(case_id)
    subject = f"case {case_id}"

    async def send(key: str) -> Answer:
        try:
            result = await handle.send(
                command, command_id=command_id(caller.department, key), within=parts.options.command_seconds
            )
        except InputRejected as rejected:
            raise await _case_refusal(parts, caller, actor, case_id, name, rejected) from None
        except CommandError as error:
            raise from_engine(error, subject=subject, command_id=key) from None
        return Answer(200, result.model_dump(mode="json"))

    return await parts.idempotency.run(caller.department, key, await _fingerprint(request), send)


async def _case_refusal(
    parts: Door, caller: Caller, actor: Actor, case_id: str, name: str, rejected: InputRejected
) -> DoorProblem:
    subject = f"case {case_id}"
    try:
        view = await parts.engine.case_by_id(case_id).state(within=parts.options.command_seconds)
    except CommandError as error:
        return from_engine(error, subject=subject)
    parties = access.case_parties(view)
    identity = access.is_actor_rule(rejected.rule) or access.holds_case_role(view, actor) is False
    if identity or not access.can_read(caller, parties):
        return access.refusal(
            caller,
            actor.department,
            subject=subject,
            command=name,
            rule=rejected.rule if access.is_actor_rule(rejected.rule) else "actor.role",
            parties=parties,
            field="role",
            detail=str(rejected) if access.is_actor_rule(rejected.rule) else None,
        )
    return from_engine(rejected, subject=subject)


async def handoff_command(
    parts: Door, caller: Caller, key: str | None, request: Request, handoff_id: str, name: str, body: HandoffActing
) -> Response:
    actor = access.handoff_actor(caller, name, body)
    _update, model = HANDOFF_COMMANDS[name]
    command = _command(model, body, actor)
    handle = parts.engine.handoff(handoff_id)
    subject = f"hand-off {handoff_id}"
    if actor.role is h.ActorRole.COORDINATOR:
        await _require_coordinator(parts, caller, actor.department_code, handoff_id, name)

    async def send(key: str) -> Answer:
        try:
            view = await handle.send(
                command, command_id=command_id(caller.department, key), within=parts.options.command_seconds
            )
        except InputRejected as rejected:
            raise await _handoff_refusal(parts, caller, actor, handoff_id, name, rejected) from None
        except CommandError as error:
            raise from_engine(error, subject=subject, command_id=key) from None
        return Answer(200, view.model_dump(mode="json"))

    return await parts.idempotency.run(caller.department, key, await _fingerprint(request), send)


async def handoff_coordinator_of(parts: Door, handoff_id: str) -> str | None:
    """The registry's coordinator for the hand-off's matter and locality (one describe, one registry read)."""
    try:
        matter, locality = await parts.engine.handoff(handoff_id).placement(within=parts.options.command_seconds)
    except CommandError as error:
        raise from_engine(error, subject=f"hand-off {handoff_id}") from None
    if matter is None:
        raise not_found(f"hand-off {handoff_id}")
    async with parts.sessions() as session:
        return await handoff_coordinator(session, matter, locality)


async def _require_coordinator(parts: Door, caller: Caller, department: str, handoff_id: str, name: str) -> None:
    coordinator = await handoff_coordinator_of(parts, handoff_id)
    if coordinator is not None and coordinator == department:
        return
    subject = f"hand-off {handoff_id}"
    try:
        view = await parts.engine.handoff(handoff_id).view(within=parts.options.command_seconds)
    except CommandError as error:
        raise from_engine(error, subject=subject) from None
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
    try:
        view = await parts.engine.handoff(handoff_id).view(within=parts.options.command_seconds)
    except CommandError as error:
        return from_engine(error, subject=subject)
    parties = access.handoff_parties(view)
    if not access.can_read(caller, parties):
        parties = access.handoff_parties(view, await handoff_coordinator_of(parts, handoff_id))
    identity = access.is_actor_rule(rejected.rule) or access.holds_handoff_role(view, actor) is False
    if identity or not access.can_read(caller, parties):
        return access.refusal(
            caller,
            actor.department_code,
            subject=subject,
            command=name,
            rule=rejected.rule if access.is_actor_rule(rejected.rule) else "actor.role",
            parties=parties,
            field="role",
            detail=str(rejected) if access.is_actor_rule(rejected.rule) else None,
        )
    return from_engine(rejected, subject=subject)


async def _fingerprint(request: Request) -> str:
    return fingerprint(request.method, request.url.path, await request.body())
