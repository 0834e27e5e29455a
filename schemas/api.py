"""What the front door's HTTP API takes and answers, beyond the engine's own models: launch and command bodies,
pages, counts and RFC 9457 problem details.

A command body is the command's own fields without `actor`, plus the role the caller acts in: the department
always comes from the credential. Every body refuses unknown fields, so a launcher naming its own `coordinator`
is told so by field.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, create_model

from schemas.case import commands as c
from schemas.case.stages import CardColour, CaseStage, Priority, SupervisionLevel
from schemas.case.state import CasePolicy, CoUnitNomination, Title
from schemas.clock import CardProfileName, ClockUnit, Pause
from schemas.handoff import HANDOFF_COMMANDS, HandoffStage, Reference, SlaColour, Text
from schemas.handoff import Code as HandoffCode
from schemas.handoff import Command as HandoffCommand
from schemas.registry import HandoffDirection, TriggerEvent
from schemas.text import FREE_TEXT, IDENTIFIER, CommandId, Package

Code = c.Code
OnBehalfReason = Annotated[str, Field(min_length=1, max_length=2000), FREE_TEXT]


class Forbidding(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Problem details (RFC 9457).


class ProblemError(BaseModel):
    """One input problem: where it is (a JSON pointer into the body, or the parameter's name) and what is wrong."""

    detail: str
    pointer: str | None = Field(None, description='JSON pointer into the request body, e.g. "#/co_units/0"')
    parameter: str | None = Field(None, description="the query, path or header parameter at fault")
    rule: str | None = Field(None, description="the validation rule, e.g. string_too_long")


class Problem(BaseModel):
    """An error answer (`application/problem+json`). `type` is an absolute URI naming the kind of problem; `rule` and
    `field` name the rule that refused the request and the input it concerns."""

    type: str = Field(description="absolute URI of the problem type, e.g. …/problems/rule-refused")
    title: str
    status: int
    detail: str | None = None
    rule: str | None = Field(None, description="the rule that refused the request, e.g. stage or actor.role")
    field: str | None = Field(None, description="the input field concerned, dotted, e.g. co_units.0.department")
    command_id: str | None = Field(
        None, description="timeout only: the Idempotency-Key to retry with; the command is applied at most once"
    )
    errors: list[ProblemError] | None = Field(None, description="every problem of an invalid request")


# Identity.


class CaseActingRole(StrEnum):
    """The roles a department may act in on a case; `system` is the case's own timers and never accepted."""

    REQUESTER = "requester"
    INITIATOR = "initiator"
    COORDINATOR = "coordinator"
    LEAD = "lead"
    LOCALITY = "locality"
    CO_UNIT = "co_unit"
    SUPERVISOR = "supervisor"
    APPROVER = "approver"
    REGULATOR = "regulator"
    LEADER = "leader"


class HandoffActingRole(StrEnum):
    RECEIVER = "receiver"
    ORIGINATOR = "originator"
    COORDINATOR = "coordinator"


class OnBehalf(Forbidding):
    """For operator credentials only: the department acted for, and why; both go into the audit trail."""

    on_behalf_of: Code | None = Field(None, description="operators only: the department acted for")
    on_behalf_reason: OnBehalfReason | None = Field(None, description="operators only: why, required with it")


class CaseActing(OnBehalf):
    role: CaseActingRole = Field(description="the role the caller's department acts in on this case")
    actor_department: Code | None = Field(
        None, description="optional; must be the credential's department (an operator's: on_behalf_of)"
    )


class HandoffActing(OnBehalf):
    role: HandoffActingRole = Field(description="the part the caller's department plays in this hand-off")
    actor_department: Code | None = Field(
        None, description="optional; must be the credential's department (an operator's: on_behalf_of)"
    )


def _body(model: type[BaseModel], base: type[BaseModel], name: str) -> type[BaseModel]:
    fields: dict[str, Any] = {
        field: (info.annotation, info) for field, info in model.model_fields.items() if field != "actor"
    }
    body: type[BaseModel] = create_model(name, __base__=base, __doc__=model.__doc__, __module__=__name__, **fields)
    return body


def _pascal(verb: str) -> str:
    return "".join(part.capitalize() for part in verb.split("-"))


def case_command_body(verb: str, model: type[c.CaseCommand]) -> type[CaseActing]:
    """The HTTP body of a case command: its fields without `actor`, plus the role (and, for operators, on whose
    behalf)."""
    return _body(model, CaseActing, f"{_pascal(verb)}Request")  # type: ignore[return-value]


def handoff_command_body(verb: str, model: type[HandoffCommand]) -> type[HandoffActing]:
    return _body(model, HandoffActing, f"Handoff{_pascal(verb)}Request")  # type: ignore[return-value]


# Cases.


class LaunchRequest(OnBehalf):
    """A case as a department system registers it. The registry, not the body, names its coordinator and
    supervisors; the initiating system is the credential's department (an operator's: `on_behalf_of`)."""

    case_number: Code = Field(description="the system's own case number; launching it again starts nothing")
    matter_code: Code
    locality_code: Code = Field(description="the locality where the problem is: the dual launch's second party")
    title: Title = Field(description="kept in the payload and the read model only")
    priority: Priority = Priority.NORMAL
    leader_instruction: bool = Field(False, description="a leader instructed supervision: an order at launch")
    co_units: list[CoUnitNomination] = Field(default_factory=list, max_length=20)
    received_at: AwareDatetime | None = Field(
        None,
        description="receipt, if before registration; clocks start here. Not in the future, nor further back than "
        "the policy's receipt_window_days (a year by default)",
    )
    policy: CasePolicy | None = Field(None, description="operators only: per-case overrides of the numbers")


class LaunchResult(BaseModel):
    case_id: str
    created: bool = Field(description="false: the case number was registered before; nothing was started")


class CaseSummary(BaseModel):
    """A case as visibility lists it: its search attributes and its run's status, without a query. A value this
    client does not know (a newer server's stage) is kept as text rather than refused."""

    case_id: str = Field(
        description="the workflow ID, case-<system>~<case number>; a case launched before the ~ keeps its "
        "case-<system>-<case number>"
    )
    stage: CaseStage | str | None = Field(union_mode="left_to_right", description="CaseloopStage")
    card_colour: CardColour | str | None = Field(
        union_mode="left_to_right", description="CaseloopCardColour: the most severe card issued"
    )
    lead_department: str | None = Field(description="CaseloopLeadDepartment")
    locality: str | None = Field(description="CaseloopLocality")
    matter: str | None = Field(description="CaseloopMatter")
    priority: Priority | str | None = Field(union_mode="left_to_right", description="CaseloopPriority")
    supervision_level: SupervisionLevel | str | None = Field(
        union_mode="left_to_right", description="CaseloopSupervisionLevel: the highest rung reached"
    )
    next_due_at: AwareDatetime | None = Field(description="CaseloopNextDueAt: the earliest running step deadline")
    channel: list[str] | None = Field(
        None, description="CaseloopChannel: an intake channel's code, `<channel>.<record number>`, `unplaced`"
    )
    status: str = Field(description="the workflow's status: running (a closed case runs through its reopen window)")
    started_at: AwareDatetime
    closed_at: AwareDatetime | None = Field(description="when the workflow ended")


class HandoffSummary(BaseModel):
    """A hand-off as visibility lists it."""

    handoff_id: str = Field(description="the workflow ID, handoff-<matter>-<source>-<reference>-<direction>")
    stage: HandoffStage | str | None = Field(union_mode="left_to_right", description="CaseloopStage")
    colour: SlaColour | str | None = Field(union_mode="left_to_right", description="CaseloopSlaColour: the SLA colour")
    matter: str | None = Field(description="CaseloopMatter")
    direction: HandoffDirection | str | None = Field(union_mode="left_to_right", description="CaseloopDirection")
    receiver: str | None = Field(description="CaseloopLeadDepartment: the department the push went to")
    locality: str | None = Field(description="CaseloopLocality: where the source case was handled")
    next_due_at: AwareDatetime | None = Field(description="CaseloopNextDueAt: the earliest running step deadline")
    status: str = Field(description="the workflow's status: running until the loop is closed or terminated")
    started_at: AwareDatetime
    closed_at: AwareDatetime | None = Field(description="when the workflow ended")


class CasePage(BaseModel):
    items: list[CaseSummary]


class HandoffPage(BaseModel):
    items: list[HandoffSummary]


class Count(BaseModel):
    count: int


# Hand-offs.


class ReportedEvent(Forbidding):
    """An event as the calling department reports it, alone or in a batch: `SourceEvent` without
    `source_department` (the credential's) or who reported it (the door records the credential)."""

    reference: Reference = Field(description="the department's own reference, e.g. its case number")
    event: TriggerEvent
    item_code: HandoffCode | None = Field(None, description="the approval or supervision item, or the scope code")
    locality_code: HandoffCode | None = Field(None, description="where the case was handled")
    occurred_at: AwareDatetime
    decision: Annotated[str, Field(max_length=64), IDENTIFIER] | None = Field(
        None, description="grant, deny, change, cancel, or the kind of measure"
    )
    related_handoff_id: Annotated[str, Field(max_length=200), IDENTIFIER] | None = None
    package: Package = Field(
        default_factory=dict, description="what the receiver needs; may hold personal data, so never in IDs"
    )


class EventRequest(ReportedEvent, OnBehalf):
    """An event the calling department reports; `SourceEvent` without `source_department` (the credential's). An
    operator reports for a department with `on_behalf_of` and `on_behalf_reason`."""


class BatchRequest(OnBehalf):
    """Many events of the calling department; an operator names the department once, for the whole batch."""

    batch_id: CommandId = Field(description="the caller's name for the batch; reporting it again is idempotent")
    events: list[ReportedEvent] = Field(min_length=1, max_length=5000)


class WithdrawalRequest(OnBehalf):
    """The calling department's source case was withdrawn; an operator withdraws for a department with
    `on_behalf_of` and `on_behalf_reason`."""

    event: TriggerEvent
    reference: Reference
    reason: Text


# Inbox, clock.


class AcknowledgeRequest(Forbidding):
    by: Annotated[str, Field(min_length=1, max_length=200), FREE_TEXT] = Field(
        description="who read it: a person or a system"
    )


class DeadlineRequest(Forbidding):
    """One limit on the legal clock, as `caseloop deadline` takes it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    started_at: AwareDatetime = Field(alias="from", description="the instant of receipt, with its offset")
    limit: float = Field(gt=0, le=100_000, description="in `unit`; day units take whole numbers")
    unit: ClockUnit
    locality: Code | None = Field(None, description="locality code whose office hours apply")
    pauses: list[Pause] = Field(default_factory=list, max_length=100)
    extensions: list[Annotated[float, Field(gt=0, le=100_000)]] = Field(default_factory=list, max_length=20)
    profile: CardProfileName = CardProfileName.DEFAULT


# Every command's body by its verb, as the door's routes take them.
CASE_COMMAND_BODIES: dict[str, type[CaseActing]] = {
    verb: case_command_body(verb, model) for verb, model in c.CASE_COMMANDS.items()
}
HANDOFF_COMMAND_BODIES: dict[str, type[HandoffActing]] = {
    verb: handoff_command_body(verb, model) for verb, model in HANDOFF_COMMANDS.items()
}
