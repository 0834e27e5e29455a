"""Who sends a command, written as a model or as `role:DEPARTMENT` (e.g. `lead:SQ-ZJJ`), as the CLI takes it."""

from __future__ import annotations

from pydantic import ValidationError

from caseloop.direct.failures import invalid
from caseloop.errors import InputRejected
from schemas import handoff
from schemas.case.commands import Actor
from schemas.case.stages import Role

CaseActor = Actor | str
HandoffActor = handoff.Actor | str


def case_actor(value: CaseActor | None) -> Actor:
    """A case command's actor; the roles are those of DESIGN.md §1 (coordinator, lead, locality, …)."""
    if isinstance(value, Actor):
        return value
    role, department = _split(value, [role.value for role in Role])
    try:
        return Actor(department=department, role=Role(role))
    except ValidationError as error:
        raise invalid(error, within="actor") from None


def handoff_actor(value: HandoffActor | None) -> handoff.Actor:
    """A hand-off command's actor: receiver, originator or coordinator."""
    if isinstance(value, handoff.Actor):
        return value
    role, department = _split(value, [role.value for role in handoff.ActorRole])
    try:
        return handoff.Actor(department_code=department, role=handoff.ActorRole(role))
    except ValidationError as error:
        raise invalid(error, within="actor") from None


def _split(value: str | None, roles: list[str]) -> tuple[str, str]:
    if value is None:
        raise InputRejected(
            "actor: every command names who sends it, e.g. lead:SQ-ZJJ", rule="actor.required", field="actor"
        )
    role, _, department = value.partition(":")
    if role not in roles or not department:
        raise InputRejected(
            f"actor: write ROLE:DEPARTMENT with a role of {', '.join(roles)}; not {value!r}",
            rule="actor.format",
            field="actor",
        )
    return role, department
