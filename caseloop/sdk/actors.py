"""Who sends a command over the door: a role, and the department only when the caller writes one.

`lead` acts as the lead in the credential's own department; `lead:SQ-ZJJ` names the department as well, which the
door refuses unless it is the credential's. An operator credential names the department it acts for and why
(`on_behalf_of`, `on_behalf_reason`). The department a command is recorded under is always the door's to decide.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from caseloop.errors import InputRejected
from caseloop.sdk.building import build
from caseloop.sdk.failures import invalid
from schemas.access import Caller
from schemas.case.commands import Actor
from schemas.case.stages import Role

# The hand-off's models and the door's request models (`schemas.api`) are imported where a hand-off actor or a
# role is parsed, not with this module: a handle that only reads (`caseloop case show`) never builds them.
if TYPE_CHECKING:
    from schemas import handoff

    HandoffActor = handoff.Actor | str

CaseActor = Actor | str


def __getattr__(name: str) -> object:
    """`HandoffActor`, the hand-off actor's alias, built on first use (it imports the hand-off's models)."""
    if name == "HandoffActor":
        from schemas import handoff

        alias = handoff.Actor | str
        globals()[name] = alias
        return alias
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class OnBehalf:
    """An operator acting for a department, with its stated reason."""

    department: str
    reason: str

    @classmethod
    def of(cls, department: str | None, reason: str | None) -> OnBehalf | None:
        if department is None and reason is None:
            return None
        if not department or not reason:
            raise InputRejected(
                "on_behalf_of: an operator acts for a department only with a stated reason (give both)",
                rule="on-behalf.reason",
                field="on_behalf_reason" if department else "on_behalf_of",
            )
        return cls(department, reason)


@dataclass(frozen=True)
class Acting:
    """A command's actor as the caller wrote it: the role, and the department if it wrote one."""

    role: str
    department: str | None = None
    handoff: bool = False

    @property
    def label(self) -> str:
        return f"{self.role}:{self.department}" if self.department else self.role

    def actor(self, department: str) -> Any:
        """The actor model in `department`, to check the command's fields before it is sent."""
        try:
            if self.handoff:
                from schemas import handoff

                return handoff.Actor(department=department, role=Role(self.role))
            return Actor(department=department, role=Role(self.role))
        except ValidationError as error:
            raise invalid(error, within="actor") from None

    def body(self, command: BaseModel, on_behalf: OnBehalf | None) -> dict[str, Any]:
        """The request body: the command's fields without its actor, plus the role, the department when written
        (`actor_department`: commands have a `department` field of their own), and an operator's on-behalf-of
        with its reason."""
        body = command.model_dump(mode="json", exclude={"actor"})
        body["role"] = self.role
        if self.department is not None:
            body["actor_department"] = self.department
        if on_behalf is not None:
            body["on_behalf_of"] = on_behalf.department
            body["on_behalf_reason"] = on_behalf.reason
        return body


def case_acting(value: CaseActor | Acting | None) -> Acting:
    """A case command's actor; the roles are those of DESIGN.md §1 (coordinator, lead, locality, …)."""
    if isinstance(value, Acting):
        return value
    if isinstance(value, Actor):
        return Acting(value.role.value, value.department)
    from schemas.api import CaseActingRole

    return _parse(value, [role.value for role in CaseActingRole], handoff=False)


def handoff_acting(value: HandoffActor | Acting | None) -> Acting:
    """A hand-off command's actor: receiver, originator or coordinator (never `system` from outside)."""
    from schemas import handoff
    from schemas.api import HandoffActingRole

    if isinstance(value, Acting):
        return value
    if isinstance(value, handoff.Actor):
        return Acting(value.role.value, value.department, handoff=True)
    return _parse(value, [role.value for role in HandoffActingRole], handoff=True)


def command_body(
    model: type[BaseModel],
    given: Any,
    fields: dict[str, Any],
    *,
    acting_of: Callable[[Any], Acting],
    default: Acting | None,
    caller: Caller,
    on_behalf: OnBehalf | None,
) -> dict[str, Any]:
    """A command's request body: `given` whole, sent by its own actor, or built from `fields`, sent by the actor
    they name or the handle's `default`, in the department it writes, the one acted for, or the credential's."""
    written = fields.pop("actor", None)
    if given is not None:
        acting = acting_of(given.actor)
    else:
        acting = acting_of(written or default)
        department = acting.department or (on_behalf.department if on_behalf else caller.department)
        # Built here too, so a missing or malformed field is refused before the request, with its field.
        fields["actor"] = acting.actor(department)
    return acting.body(build(model, given, fields), on_behalf)


def _parse(value: str | None, roles: list[str], *, handoff: bool) -> Acting:
    if value is None:
        raise InputRejected(
            "actor: every command names the role it acts in, e.g. lead (or lead:SQ-ZJJ)",
            rule="actor.required",
            field="actor",
        )
    role, colon, department = value.partition(":")
    if role not in roles or (colon and not department):
        raise InputRejected(
            f"actor: write ROLE or ROLE:DEPARTMENT with a role of {', '.join(roles)}; not {value!r}",
            rule="actor.format",
            field="actor",
        )
    return Acting(role, department or None, handoff=handoff)
