"""The hand-off's language (雙推送雙回路): trigger events, stages, commands, the state model and the reports.

Workflow IDs, search attributes and summaries are stored in clear: they carry codes and the department's own
reference only. The push package (entity names, addresses, people) travels in payloads, which the codec
encrypts when a key is configured.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AliasChoices,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError, to_json

from schemas.actors import SYSTEM_ACTOR as SYSTEM_ACTOR
from schemas.actors import Actor, Role
from schemas.cards import CardColour, IssuedCard, SlaColour
from schemas.clock import ClockUnit, SlaClockState
from schemas.delivery import Push
from schemas.ledger import (
    CardIssue,
    HandoffTransition,
    ScoreEventInput,
    SupervisionOrderStatus,
    SupervisionOrderTransition,
)
from schemas.registry import HandoffDirection, Limit, LimitUnit, MatterInfo, MatterStep, TriggerEvent
from schemas.rejections import Rejection
from schemas.text import FREE_TEXT, IDENTIFIER, CommandId, Package

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), IDENTIFIER]
# The department's own reference (case number, decision number): any printable text, never a person's data.
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128), IDENTIFIER]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), FREE_TEXT]
Remark = Annotated[str, StringConstraints(max_length=500), FREE_TEXT]

# Short direction codes used in workflow IDs and push keys.
DIRECTION_CODES: dict[HandoffDirection, str] = {
    HandoffDirection.APPROVAL_TO_SUPERVISION: "a2s",
    HandoffDirection.SUPERVISION_TO_APPROVAL: "s2a",
    HandoffDirection.APPROVAL_TO_APPROVAL: "a2a",
    HandoffDirection.REGISTRATION_TO_PERMIT: "r2p",
}

# The limits DESIGN.md §3 gives when a matter names none; a matter's own limit always wins.
_WD = LimitUnit.WORKING_DAYS
DEFAULT_LIMITS: dict[MatterStep, Limit] = {
    MatterStep.CLAIM: Limit(amount=Decimal(2), unit=_WD),
    MatterStep.RETURN: Limit(amount=Decimal(1), unit=_WD),
    MatterStep.REROUTE: Limit(amount=Decimal(1), unit=_WD),
    MatterStep.END_TO_END: Limit(amount=Decimal(3), unit=_WD),
    MatterStep.ACKNOWLEDGE: Limit(amount=Decimal(1), unit=_WD),
    MatterStep.PUSH_BACK: Limit(amount=Decimal(1), unit=_WD),
}
# The time a supervision order gives the receiver to answer (send its feedback), from its issue.
ORDER_ANSWER_LIMIT = Limit(amount=Decimal(1), unit=_WD)

# Delivery attempts before the hand-off shows DELIVERY_FAILED to the coordinator; it keeps retrying after that.
DELIVERY_ATTEMPTS_BEFORE_ALERT = 6
# Commands remembered for de-duplication, carried across continue-as-new.
REMEMBERED_COMMANDS = 500

# Batches: events and bytes (as JSON) per batch workflow, so its input stays well under Temporal's 2 MB payload
# limit (an event alone may weigh a whole package), events per admission activity, and admission activities
# running at once per batch.
BATCH_WORKFLOW_EVENTS = 500
BATCH_WORKFLOW_BYTES = 1 << 20
ADMISSION_CHUNK = 50
ADMISSIONS_AT_ONCE = 4

# The most a hand-off's package or a feedback's details may weigh as JSON, and the findings one feedback may carry:
# the start, the feedback and its notice together stay well under the 2 MB a continue-as-new input may weigh.
PACKAGE_MAX_BYTES = 256 << 10
FINDINGS_PER_FEEDBACK = 50
PACKAGE_TOO_LARGE = "package.too-large"
DETAILS_TOO_LARGE = "details.too-large"


def _json_within(rule: str, limit: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def check(value: dict[str, Any]) -> dict[str, Any]:
        size = len(to_json(value))
        if size > limit:
            raise PydanticCustomError(
                rule, "{size} bytes as JSON; at most {limit} are accepted", {"size": size, "limit": limit}
            )
        return value

    return check


# A push's package and a feedback's details: free text throughout (schemas.text), and bounded in bytes.
HandoffPackage = Annotated[Package, AfterValidator(_json_within(PACKAGE_TOO_LARGE, PACKAGE_MAX_BYTES))]
FeedbackDetails = Annotated[Package, AfterValidator(_json_within(DETAILS_TOO_LARGE, PACKAGE_MAX_BYTES))]


class DateWindow(BaseModel):
    """The instants a department may report: none before `earliest`, none more than `ahead` past now. A date of
    1900 or 9999 is a typing error: its limits would fire every rung at once, or overflow the calendar."""

    model_config = ConfigDict(frozen=True)

    earliest: AwareDatetime = datetime(2000, 1, 1, tzinfo=UTC)
    ahead: timedelta = Field(timedelta(days=1), ge=timedelta(0), le=timedelta(days=366))

    def refusal(self, at: datetime, now: datetime) -> str | None:
        """Why `at` is refused as of `now`, or None."""
        if at < self.earliest:
            return f"{at.isoformat()} lies before {self.earliest.isoformat()}, the earliest date accepted"
        if at > now + self.ahead:
            return f"{at.isoformat()} lies more than {self.ahead} ahead of now ({now.isoformat()})"
        return None


# The window events' `occurred_at` and findings' `decided_at` must lie in (the rules event.occurred-at and
# finding.decided-at); the intake activities take another one where a deployment needs it.
DATE_WINDOW = DateWindow()

_NOT_ID_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_LONGEST_ID = 150


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def id_part(text: str) -> str:
    """`text` as workflow-ID-safe ASCII; anything replaced or cut is pinned down by a short hash of the original."""
    cleaned = _NOT_ID_SAFE.sub("_", text).strip("_")
    if cleaned == text and len(text) <= 64:
        return text
    return f"{cleaned[:53]}~{_digest(text)}"


def _bounded(identifier: str) -> str:
    if len(identifier) <= _LONGEST_ID:
        return identifier
    return f"{identifier[: _LONGEST_ID - 11]}~{_digest(identifier)}"


def handoff_id(
    matter_code: str, source_department: str, reference: str, direction: HandoffDirection, slot: str | None = None
) -> str:
    """`handoff-<matter>-<source system>-<reference>-<direction>`; `slot` (the first receiver) only on a fan-out."""
    parts = [matter_code, source_department, reference, DIRECTION_CODES[direction]]
    if slot is not None:
        parts.append(slot)
    return _bounded("handoff-" + "-".join(id_part(part) for part in parts))


def opposite(direction: HandoffDirection) -> HandoffDirection:
    """The direction findings travel back in (loop 2)."""
    if direction is HandoffDirection.SUPERVISION_TO_APPROVAL:
        return HandoffDirection.APPROVAL_TO_SUPERVISION
    return HandoffDirection.SUPERVISION_TO_APPROVAL


def clock_unit(unit: LimitUnit) -> ClockUnit:
    """The registry spells units with underscores, the legal clock with hyphens."""
    return ClockUnit(unit.value.replace("_", "-"))


def event_key(source_department: str, event: TriggerEvent, reference: str) -> str:
    """What makes an event the same event: who reported it, what happened, and the department's reference."""
    return f"{source_department}:{event.value}:{reference}"


def intake_workflow_id(key: str) -> str:
    return _bounded(f"handoff-event-{id_part(key)}")


def batch_workflow_id(department: str, batch_id: str, part: int) -> str:
    """A batch id is the reporting department's own name for it ("nightly-2026-11-30"): two departments' batches
    of the same name never meet."""
    return _bounded(f"handoff-batch-{id_part(department)}-{id_part(batch_id)}-{part}")


class HandoffStage(StrEnum):
    CREATED = "created"
    PUSHED = "pushed"
    DELIVERY_FAILED = "delivery_failed"  # still retrying; the coordinator sees it
    CLAIMED = "claimed"
    ACTING = "acting"
    RETURNED = "returned"  # not our duty: waits for the coordinator to reroute
    REROUTED = "rerouted"  # a new receiver chosen; pushed next
    FEEDBACK_SENT = "feedback_sent"
    LOOP_CLOSED = "loop_closed"
    TERMINATED = "terminated"

    @property
    def is_open(self) -> bool:
        return self not in (HandoffStage.LOOP_CLOSED, HandoffStage.TERMINATED)


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


class HandoffStart(BaseModel):
    """Everything a hand-off needs from its admission; the matter is a snapshot, so registry edits do not move it."""

    handoff_id: str
    thread_id: str = Field(description="the loop-1 hand-off's ID; loop-2 hand-offs join their loop 1's thread")
    matter: MatterInfo
    direction: HandoffDirection
    event: SourceEvent
    receiver_code: str | None
    routed_by_function: bool
    created_at: AwareDatetime
    coordinator_code: str | None = Field(
        None,
        description="the registry's coordinator of the matter's hand-offs at admission, who alone reroutes and "
        "terminates as coordinator; None when the registry names none, or for hand-offs admitted before it was kept",
    )

    end_to_end_due_at: AwareDatetime = Field(description="the event's time plus the matter's end-to-end limit")

    def limit(self, step: MatterStep) -> Limit | None:
        return self.matter.limits.get(step) or DEFAULT_LIMITS.get(step)

    @property
    def summary(self) -> str:
        """The static line the Temporal UI shows: codes and the department's reference, nothing personal."""
        return (
            f"Hand-off {self.matter.code} ({DIRECTION_CODES[self.direction]}) of "
            f"{self.event.source_department} {self.event.reference}"
        )


class HandoffClock(StrEnum):
    """The limits a hand-off watches, each with its own SLA timers."""

    CLAIM = "claim"
    FEEDBACK = "feedback"
    ACKNOWLEDGE = "acknowledge"
    REROUTE = "reroute"


class Route(BaseModel):
    """One push to one receiver: the version, and what became of it."""

    version: int
    department_code: str
    routed_at: AwareDatetime
    pushed_at: AwareDatetime | None = None
    returned_at: AwareDatetime | None = None
    return_reason: str | None = None
    return_basis: str | None = None


class Finding(BaseModel):
    """A supervision finding carried in a feedback; each starts a loop-2 hand-off back to the approval side."""

    model_config = ConfigDict(extra="forbid")

    kind: FindingKind
    reference: Reference = Field(description="the decision number")
    decided_at: AwareDatetime
    item_code: Code | None = None
    summary: Remark = ""


class Feedback(BaseModel):
    result: str
    findings: list[Finding]
    sent_at: AwareDatetime
    details: dict[str, JsonValue]


class HandoffOrder(BaseModel):
    """A supervision order issued on this hand-off; its audit trail has its own sequence."""

    order_id: str
    department_code: str
    status: SupervisionOrderStatus
    deadline: AwareDatetime
    issued_at: AwareDatetime
    answered_at: AwareDatetime | None = None
    lifted_at: AwareDatetime | None = None
    seq: int = 1


class StoreWrite(BaseModel):
    """A store write the hand-off owes: exactly one of the four, each keyed so writing it twice writes one row."""

    transition: HandoffTransition | None = None
    order: SupervisionOrderTransition | None = None
    card: CardIssue | None = None
    score: ScoreEventInput | None = None


class HandoffState(BaseModel):
    """The whole hand-off; it survives continue-as-new unchanged."""

    stage: HandoffStage = HandoffStage.CREATED
    receiver_code: str | None = None
    version: int = 0
    routes: list[Route] = Field(default_factory=list)
    claimed_at: AwareDatetime | None = None
    claimed_on_push: bool = False
    acting_at: AwareDatetime | None = None
    measure: str | None = None
    feedback: Feedback | None = None
    closed_at: AwareDatetime | None = None
    auto_acknowledged: bool = False
    terminated_at: AwareDatetime | None = None
    termination_reason: str | None = None
    return_until: AwareDatetime | None = None
    clocks: dict[HandoffClock, SlaClockState] = Field(default_factory=dict)
    breached: list[HandoffClock] = Field(default_factory=list, description="clocks whose deadline passed")
    colour: SlaColour = SlaColour.GREEN
    cards: list[IssuedCard] = Field(default_factory=list)
    supervision_orders: list[HandoffOrder] = Field(default_factory=list)
    push_pending: bool = Field(False, description="a push to the receiver is owed: at creation and after reroute")
    outbox: list[Push] = Field(default_factory=list, description="notices to departments not yet delivered")
    loop_two: list[str] = Field(default_factory=list, description="hand-offs started by this one's findings")
    audit_seq: int = 0
    handled_commands: list[str] = Field(default_factory=list)
    unrecorded: list[StoreWrite] = Field(
        default_factory=list, description="store writes the store has not taken yet (an outage), oldest first"
    )

    @property
    def card_colour(self) -> CardColour:
        return CardColour.of(card.level for card in self.cards)

    @property
    def returned_by(self) -> list[str]:
        return [route.department_code for route in self.routes if route.returned_at is not None]


class HandoffInput(BaseModel):
    start: HandoffStart
    carried: HandoffState | None = Field(None, description="set by continue-as-new")


class Command(BaseModel):
    """Every command names who sends it. Its ID is the update's ID, as for cases: the same ID is applied once,
    however often it is sent, across continue-as-new too."""

    model_config = ConfigDict(extra="forbid")

    actor: Actor


class Claim(Command):
    pass


class ReturnPush(Command):
    """Not our duty (退回): the receiver hands the push back with its reason and the legal basis."""

    reason: Text
    legal_basis: Text


class Reroute(Command):
    """The coordinator sends the push to another department, named or found in the department-function registry."""

    department_code: Code | None = Field(None, description="None: the registry chooses")
    reason: Text


class StartActing(Command):
    measure: Text = Field(description="the supervisory measure started: verify the pledge, inspect, list the entity")


class SendFeedback(Command):
    result: Text
    findings: list[Finding] = Field(default_factory=list, max_length=FINDINGS_PER_FEEDBACK)
    details: FeedbackDetails = Field(default_factory=dict)


class Acknowledge(Command):
    remark: Remark = ""


class Terminate(Command):
    """Stops the hand-off: the source case was withdrawn, the entity deregistered, or it is a duplicate."""

    reason: Text


class Deadlines(BaseModel):
    end_to_end: AwareDatetime | None
    claim: AwareDatetime | None
    feedback: AwareDatetime | None
    acknowledge: AwareDatetime | None
    reroute: AwareDatetime | None
    return_until: AwareDatetime | None


class HandoffView(BaseModel):
    """What a query or a command answers: the hand-off as its parties see it."""

    handoff_id: str
    thread_id: str
    related_handoff_id: str | None
    loop_two: list[str]
    matter_code: str
    direction: HandoffDirection
    source_department: str
    reference: str
    receiver_code: str | None
    version: int
    stage: HandoffStage
    sla_colour: SlaColour = Field(validation_alias=AliasChoices("sla_colour", "colour"))
    card_colour: CardColour = CardColour.NONE
    claimed_on_push: bool
    auto_acknowledged: bool
    deadlines: Deadlines
    next_due_at: AwareDatetime | None
    cards: list[IssuedCard]
    supervision_orders: list[HandoffOrder]
    routes: list[Route]
    feedback: Feedback | None


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


def withdrawal_workflow_id(key: str) -> str:
    return _bounded(f"handoff-withdrawal-{id_part(key)}")


class ThreadQuery(BaseModel):
    thread_id: Annotated[str, Field(min_length=1, max_length=200), IDENTIFIER]


class ThreadMember(BaseModel):
    handoff_id: str
    matter_code: str
    direction: HandoffDirection
    source_department: str
    receiver_code: str | None
    related_handoff_id: str | None
    started_at: AwareDatetime


class HandoffThread(BaseModel):
    """A loop-1 hand-off and the loop-2 hand-offs its findings started: one thread."""

    thread_id: str
    handoffs: list[ThreadMember]


class ReconciliationRun(BaseModel):
    """What the monthly schedule starts; without `as_of` the run reconciles as of its own start."""

    as_of: AwareDatetime | None = None


class ReconciliationRequest(BaseModel):
    as_of: AwareDatetime


class OverdueLoop(BaseModel):
    handoff_id: str
    matter_code: str
    direction: HandoffDirection
    stage: HandoffStage
    source_department: str
    receiver_code: str | None
    end_to_end_due_at: AwareDatetime
    overdue_by: timedelta


class DepartmentLoops(BaseModel):
    department_code: str = Field(description="the receiving department; '-' for loops nobody was routed to")
    loops: list[OverdueLoop]


class ReconciliationReport(BaseModel):
    """The monthly letter: every loop still open past its end-to-end limit, per receiving department, as the store
    keeps it (a month's letter may list thousands of loops: it is read from the store, never passed in a payload)."""

    report_id: int
    as_of: AwareDatetime
    open_past_limit: int
    departments: list[DepartmentLoops]


class DepartmentCount(BaseModel):
    department_code: str = Field(description="the receiving department; '-' for loops nobody was routed to")
    open_past_limit: int

    @model_validator(mode="before")
    @classmethod
    def _counted(cls, data: Any) -> Any:
        # A run recorded before the letter moved to the store answered with its loops: they are counted, so its
        # history replays.
        if isinstance(data, dict) and "open_past_limit" not in data and isinstance(data.get("loops"), list):
            return {"department_code": data.get("department_code"), "open_past_limit": len(data["loops"])}
        return data


class ReconciliationSummary(BaseModel):
    """What the monthly run answers: the stored letter's id and its counts, whatever the number of loops."""

    report_id: int
    as_of: AwareDatetime
    open_past_limit: int
    departments: list[DepartmentCount]


# Every hand-off command by its verb, as the front door's routes (`POST /v1/handoffs/{id}/{verb}`), the SDK and the
# CLI name it: one table they share without importing the workflows.
HANDOFF_COMMANDS: dict[str, type[Command]] = {
    "claim": Claim,
    "return": ReturnPush,
    "reroute": Reroute,
    "start-acting": StartActing,
    "feedback": SendFeedback,
    "acknowledge": Acknowledge,
    "terminate": Terminate,
}
