"""Trigger events and their admission: what a department reports, how each report came out, and withdrawals
at the source."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from schemas.actors import Actor, Role
from schemas.handoff.bounds import Code, HandoffPackage, Reference, Text
from schemas.handoff.ids import event_key
from schemas.registry import HandoffDirection, TriggerEvent
from schemas.rejections import Rejection
from schemas.text import IDENTIFIER, CommandId


def _reported_by_the_source(reporter: Actor | None, source_department: str) -> None:
    """An event or a withdrawal is reported by its source department, as the originator, whoever's credential."""
    if reporter is None:
        return
    if reporter.role is not Role.ORIGINATOR or reporter.department != source_department:
        raise ValueError(f"reported_by: the reporter is the originator {source_department}, not {reporter}")


class FindingKind(StrEnum):
    """What supervision found that must go back to the approval side (loop 2)."""

    PENALTY = "penalty"
    REVOCATION = "revocation"
    FALSE_PLEDGE = "false_pledge"  # 承諾不實
    MISSING_PROCEDURE = "missing_procedure"  # 補辦手續


# The trigger event a finding reports; a missing procedure is decided as a penalty-type measure.
FINDING_EVENTS: dict[FindingKind, TriggerEvent] = {
    FindingKind.PENALTY: TriggerEvent.PENALTY_DECIDED,
    FindingKind.REVOCATION: TriggerEvent.LICENCE_REVOKED,
    FindingKind.FALSE_PLEDGE: TriggerEvent.PLEDGE_FOUND_FALSE,
    FindingKind.MISSING_PROCEDURE: TriggerEvent.PENALTY_DECIDED,
}


class SourceEvent(BaseModel):
    """An event a department system reports: an approval closed, an enterprise registered, a penalty decided."""

    model_config = ConfigDict(extra="forbid")

    source_department: Code = Field(description="the reporting department's registry code")
    reference: Reference = Field(description="the department's own reference, e.g. its case number")
    event: TriggerEvent
    item_code: Code | None = Field(None, description="the approval or supervision item, or the scope code")
    locality_code: Code | None = Field(None, description="where the case was handled")
    occurred_at: AwareDatetime
    decision: Annotated[str, StringConstraints(max_length=64), IDENTIFIER] | None = Field(
        None, description="grant, deny, change, cancel, or the kind of measure"
    )
    related_handoff_id: Annotated[str, StringConstraints(max_length=200), IDENTIFIER] | None = Field(
        None, description="a finding about this (loop-1) hand-off: the new hand-off joins its thread"
    )
    package: HandoffPackage = Field(
        default_factory=dict, description="what the receiver needs; may hold personal data, so never in IDs"
    )
    reported_by: Actor | None = Field(
        None,
        description="the source department as originator, with the credential that reported it and an operator's "
        "reason; set by the front door, recorded in the hand-off's created row, never part of the event's key",
    )

    @field_validator("event")
    @classmethod
    def _starts_a_handoff(cls, event: TriggerEvent) -> TriggerEvent:
        if event is TriggerEvent.ISSUE_RAISED:
            raise ValueError("issue_raised starts a case (launch), not a hand-off")
        return event

    @model_validator(mode="after")
    def _reported_by_its_source(self) -> SourceEvent:
        _reported_by_the_source(self.reported_by, self.source_department)
        return self

    @property
    def key(self) -> str:
        return event_key(self.source_department, self.event, self.reference)


class EventBatch(BaseModel):
    """Many events in one call, e.g. a nightly export; each becomes its own hand-off."""

    model_config = ConfigDict(extra="forbid")

    batch_id: CommandId = Field(description="the caller's name for the batch; reporting it again is idempotent")
    events: list[SourceEvent] = Field(min_length=1)


class EventOutcome(StrEnum):
    STARTED = "started"
    DUPLICATE = "duplicate"  # reported before: nothing new started
    UNMATCHED = "unmatched"  # recorded, but no collaboration matter is triggered by it
    REJECTED = "rejected"  # bad input: nothing recorded


class StartedHandoff(BaseModel):
    handoff_id: str
    thread_id: str
    matter_code: str
    direction: HandoffDirection
    receiver_code: str | None = Field(description="None: no department holds the item; the coordinator routes it")


class LoopTwoStarted(BaseModel):
    """Tells a loop-1 hand-off that a finding about it started a loop-2 hand-off."""

    handoff_id: str


class EventReport(BaseModel):
    event_key: str
    outcome: EventOutcome
    handoffs: list[StartedHandoff] = Field(default_factory=list)
    rejection: Rejection | None = Field(None, description="for unmatched and rejected events")


class Admission(BaseModel):
    """Events to record, match and start hand-offs for; `admitted_by` tells a retry from a duplicate report."""

    admitted_by: str
    events: list[SourceEvent]
    as_of: AwareDatetime | None = Field(
        None,
        description="the instant the events' dates are judged against: the admitting workflow's now (deterministic "
        "on replay, and the time-skipping test server's); None: the activity's own clock",
    )


class AdmissionResult(BaseModel):
    reports: list[EventReport]


class BatchReport(BaseModel):
    batch_id: str
    reports: list[EventReport]

    def count(self, outcome: EventOutcome) -> int:
        return sum(1 for report in self.reports if report.outcome is outcome)


class SourceWithdrawal(BaseModel):
    """The source case was withdrawn (or the entity deregistered): every open hand-off it started is terminated."""

    model_config = ConfigDict(extra="forbid")

    source_department: Code
    event: TriggerEvent
    reference: Reference
    reason: Text
    reported_by: Actor | None = Field(
        None,
        description="the source department as originator, with the credential and an operator's reason; set by the "
        "front door, recorded in every termination the withdrawal causes",
    )

    @model_validator(mode="after")
    def _withdrawn_by_the_source(self) -> SourceWithdrawal:
        _reported_by_the_source(self.reported_by, self.source_department)
        return self

    @property
    def key(self) -> str:
        return event_key(self.source_department, self.event, self.reference)


class WithdrawalReport(BaseModel):
    event_key: str
    terminated: list[str] = Field(default_factory=list)
    already_closed: list[str] = Field(default_factory=list)
    rejection: Rejection | None = Field(None, description="set when the withdrawal was refused")
