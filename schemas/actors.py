"""Who acts, in cases and hand-offs alike: one role enum, one actor shape, and the system's own actor.

A hand-off's actor used to spell its department `department_code`; payloads in histories and running workflows
still do, so `department` also reads that spelling.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from schemas.text import FREE_TEXT, Code, Credential

OnBehalfReason = Annotated[str | None, Field(max_length=2000), FREE_TEXT]


class Role(StrEnum):
    """The actors of DESIGN.md §1; a command names the role its sender acts in. The audit trail spells them so."""

    REQUESTER = "requester"
    INITIATOR = "initiator"
    COORDINATOR = "coordinator"  # the collaboration centre
    LEAD = "lead"
    LOCALITY = "locality"
    CO_UNIT = "co_unit"
    SUPERVISOR = "supervisor"
    APPROVER = "approver"
    REGULATOR = "regulator"
    LEADER = "leader"
    RECEIVER = "receiver"  # the department a hand-off's push went to
    ORIGINATOR = "originator"  # the department whose event started a hand-off
    SYSTEM = "system"  # the workflow's own timers and rules


class Actor(BaseModel):
    """Who sends a command: a department acting in a role, never a person's name.

    The front door fills in the credential and, for an operator acting for the department, the stated reason;
    both go into the audit trail beside the actor.
    """

    model_config = ConfigDict(frozen=True)

    department: Code = Field(validation_alias=AliasChoices("department", "department_code"))
    role: Role
    credential: Credential | None = Field(
        None, description="the credential that sent it, e.g. key:<key id>; set by the front door"
    )
    on_behalf_reason: OnBehalfReason = Field(
        None, description="why an operator acted for the department; set by the front door"
    )

    @property
    def label(self) -> str:
        return f"{self.role.value}:{self.department}"

    def __str__(self) -> str:
        return f"{self.role.value} {self.department}"


# The engine itself: timers, rungs, automatic acknowledgements.
SYSTEM_ACTOR: Final = Actor(department="caseloop", role=Role.SYSTEM)
