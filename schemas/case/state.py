"""What a case workflow is started with and the state it carries, whole, across continue-as-new."""

from __future__ import annotations

from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from schemas.case.commands import Actor, Code, CommandResult
from schemas.case.records import PendingChanges
from schemas.case.stages import (
    AssignmentStatus,
    CardColour,
    CaseStage,
    ClockStep,
    PartyKind,
    Priority,
    SlaColour,
    SupervisionLevel,
)
from schemas.clock import CardProfileName, ClockSpec, SlaClockState
from schemas.ledger import CardLevel, CardReason, RatingLevel, SupervisionOrderStatus
from schemas.registry import CaseParties, Limit, LimitUnit, MatterInfo, MatterStep


def working_days(amount: int) -> Limit:
    return Limit(amount=Decimal(amount), unit=LimitUnit.WORKING_DAYS)


# DESIGN.md §2's default limits; a matter's own limits in the registry win over them.
DEFAULT_STEP_LIMITS: dict[MatterStep, Limit] = {
    MatterStep.ACCEPT: working_days(1),
    MatterStep.SIGN: working_days(1),
    MatterStep.SIGN_URGENT: Limit(amount=Decimal(2), unit=LimitUnit.OFFICE_HOURS),
    MatterStep.RETURN: working_days(2),
    MatterStep.REROUTE: working_days(1),
    MatterStep.COMMIT: working_days(2),
    MatterStep.PROGRESS_REPORT: working_days(10),
    MatterStep.EXTENSION_DECISION: working_days(1),
    MatterStep.REVIEW: working_days(2),
    MatterStep.FOLLOW_UP: working_days(1),
    MatterStep.REOPEN_WINDOW: Limit(amount=Decimal(30), unit=LimitUnit.NATURAL_DAYS),
}


class CasePolicy(BaseModel):
    """Every number a case runs on; defaults from DESIGN.md §2, overridable per case at registration."""

    step_limits: dict[MatterStep, Limit] = Field(default_factory=lambda: dict(DEFAULT_STEP_LIMITS))
    supervised_progress_report: Limit = Field(
        default_factory=lambda: working_days(5), description="the reporting period while an order is open"
    )
    supervision_order_limit: Limit = Field(
        default_factory=lambda: working_days(15), description="a supervisor's order that names no limit"
    )
    ladder_order_limit: Limit = Field(
        default_factory=lambda: working_days(5), description="an order the escalation ladder issues"
    )
    redo_limit: Limit = Field(default_factory=lambda: working_days(10), description="after a redo, from the redo")
    extension_cap: Limit = Field(default_factory=lambda: working_days(10), description="unless the matter sets one")
    max_extensions: int = Field(1, ge=0, description="approved extensions, unless the matter sets a number")
    second_yellow_is_red: bool = Field(True, description="a department's second yellow card on a case is red")
    timeline_kept: int = Field(500, ge=10, le=5000, description="timeline entries kept in the workflow state")
    applied_commands_kept: int = Field(500, ge=10, le=5000, description="command ids remembered against repeats")
    max_history_events: int | None = Field(
        None, ge=50, description="continue as new beyond this many history events even if the server does not ask"
    )


class CoUnitNomination(BaseModel):
    department: Code
    mandatory: bool = Field(True, description="the case waits for its signature")


class CaseRegistration(BaseModel):
    """A case as the initiating system registers it. Only codes reach IDs, search attributes and summaries."""

    system: Code = Field(description="the initiating department system, e.g. 12345-hotline")
    case_number: Code = Field(description="the initiating system's own case number")
    matter_code: Code
    locality_code: Code = Field(description="the locality where the problem is: the dual launch's second party")
    title: str = Field(min_length=1, max_length=500, description="kept in the payload and the read model only")
    coordinator: Code = Field(description="the collaboration centre that accepts, rules and reviews")
    supervisors: list[Code] = Field(default_factory=list, max_length=20, description="supervision offices")
    priority: Priority = Priority.NORMAL
    leader_instruction: bool = Field(False, description="a leader instructed supervision: an order at launch")
    co_units: list[CoUnitNomination] = Field(default_factory=list, max_length=20)
    received_at: AwareDatetime | None = Field(None, description="receipt, if before registration; clocks start here")
    policy: CasePolicy = Field(default_factory=CasePolicy)
    launched_by: Actor | None = Field(
        None, description="the initiating system as the front door authenticated it; the registration row names it"
    )

    @model_validator(mode="after")
    def _distinct(self) -> CaseRegistration:
        codes = [unit.department for unit in self.co_units]
        if len(set(codes)) != len(codes):
            raise ValueError("co_units: each department may be named once")
        if len(set(self.supervisors)) != len(self.supervisors):
            raise ValueError("supervisors: each department may be named once")
        if self.launched_by is not None and self.launched_by.department != self.system:
            raise ValueError("launched_by: the initiating system launches its own cases")
        return self

    @property
    def case_id(self) -> str:
        return case_id_of(self.system, self.case_number)


def case_id_of(system: str, case_number: str) -> str:
    """The workflow ID: no personal data, only the initiating system's codes."""
    return f"case-{system}-{case_number}"


class Assignment(BaseModel):
    """One party's share of a dual launch, with its own small machine and sign clock."""

    assignment_id: str
    department: str
    party: PartyKind
    mandatory: bool
    status: AssignmentStatus = AssignmentStatus.PENDING_SIGN
    dispatched_at: AwareDatetime
    return_closes_at: AwareDatetime | None = Field(None, description="the end of the return window")
    signed_at: AwareDatetime | None = None
    force_signed: bool = False
    sign_escalated: bool = Field(False, description="escalated to the coordinator, who may now force-sign")
    return_reason: str | None = None
    return_basis: str | None = None
    rerouted_to: str | None = Field(None, description="the assignment that replaced this one")

    @property
    def active(self) -> bool:
        return self.status is not AssignmentStatus.REROUTED


class Commitment(BaseModel):
    limit: Limit = Field(description="counted from the case's receipt")
    plan: str | None
    filed_at: AwareDatetime
    filed_by: str
    cosigned_at: AwareDatetime | None = None
    imposed: bool = False
    accepted_at: AwareDatetime | None = None


class ExtensionRequest(BaseModel):
    amount: float
    reason: str
    requested_at: AwareDatetime
    decided_at: AwareDatetime | None = None
    approved: bool | None = None
    granted: float | None = None
    decision_reason: str | None = None


class ClosingReport(BaseModel):
    result: str
    evidence: list[str]
    requester_confirmed: bool
    submitted_at: AwareDatetime
    on_time: bool = Field(description="submitted no later than the committed deadline")
    cosigned_at: AwareDatetime | None = None
    review_passed_at: AwareDatetime | None = None
    rating: RatingLevel | None = None
    rated_at: AwareDatetime | None = None


class SupervisionOrder(BaseModel):
    """A supervision order inside the case: issued → received → answered → lifted, with its own deadline."""

    order_id: str = Field(description="unique within the case, e.g. o1")
    department: str
    co_departments: list[str] = Field(default_factory=list)
    issued_by: Actor | None = Field(description="None when the escalation ladder issued it")
    level: SupervisionLevel
    basis: str
    content: str
    limit: Limit
    status: SupervisionOrderStatus = SupervisionOrderStatus.ISSUED
    seq: int = Field(0, description="the order's own transition counter (its audit rows)")
    issued_at: AwareDatetime
    due_at: AwareDatetime | None = None
    received_at: AwareDatetime | None = None
    answered_at: AwareDatetime | None = None
    answer: str | None = None
    lifted_at: AwareDatetime | None = None

    @property
    def open(self) -> bool:
        return self.status is not SupervisionOrderStatus.LIFTED


class CaseClock(BaseModel):
    """One step limit the legal clock watches: whose it is, how it is counted, and the SLA timers' state."""

    key: str
    step: ClockStep
    department: str = Field(description="the department the clock watches: reminded, carded, escalated")
    subject: str | None = Field(None, description="the assignment or order it belongs to")
    spec: ClockSpec
    profile: CardProfileName
    sla: SlaClockState = Field(default_factory=SlaClockState)
    estimated: bool = False
    colour: SlaColour = SlaColour.GREEN


class IssuedCard(BaseModel):
    card_id: str
    department: str
    level: CardLevel
    reason: CardReason
    step: ClockStep | None
    issued_at: AwareDatetime


class TimelineEntry(BaseModel):
    """One transition as the audit trail records it: who, what, from which stage to which, and why."""

    seq: int
    at: AwareDatetime
    actor: Actor
    action: str
    from_stage: CaseStage | None = None
    to_stage: CaseStage | None = None
    reason: str | None = None
    note: str | None = Field(None, description="what else the reader needs: the department, the order, the card")


class AppliedCommand(BaseModel):
    update_id: str
    result: CommandResult


class CaseState(BaseModel):
    """The whole case; it is the continue-as-new input, so everything the case knows lives here."""

    case_id: str
    registration: CaseRegistration
    parties: CaseParties | None = Field(None, description="resolved from the registry when the case starts")
    stage: CaseStage = CaseStage.REGISTERED
    registered_at: AwareDatetime
    seq: int = Field(0, description="the case's transition counter: the audit trail's seq")
    assignments: list[Assignment] = Field(default_factory=list)
    commitment: Commitment | None = None
    committed_due_at: AwareDatetime | None = None
    extensions: list[ExtensionRequest] = Field(default_factory=list)
    suspended_at: AwareDatetime | None = None
    stage_before_suspension: CaseStage | None = None
    closing: ClosingReport | None = None
    redo_count: int = 0
    reopen_count: int = 0
    closed_at: AwareDatetime | None = None
    reopen_closes_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = Field(None, description="rejected or terminated")
    orders: list[SupervisionOrder] = Field(default_factory=list)
    clocks: dict[str, CaseClock] = Field(default_factory=dict)
    cards: list[IssuedCard] = Field(default_factory=list)
    score_events: int = Field(0, description="score events issued (besides cards), for their ids")
    pushes: int = Field(0, description="pushes issued, for their ids")
    supervision_level: SupervisionLevel = SupervisionLevel.NONE
    report_overdue: bool = False
    unrecorded: PendingChanges = Field(default_factory=PendingChanges)
    timeline: list[TimelineEntry] = Field(default_factory=list, description="the most recent entries")
    applied: list[AppliedCommand] = Field(default_factory=list, description="the most recent commands, oldest first")
    runs: int = Field(1, description="workflow runs so far, continue-as-new included")

    @property
    def matter(self) -> MatterInfo | None:
        return self.parties.matter if self.parties else None

    @property
    def card_colour(self) -> CardColour:
        levels = {card.level for card in self.cards}
        if CardLevel.RED in levels:
            return CardColour.RED
        return CardColour.YELLOW if levels else CardColour.NONE


class CaseWorkflowInput(BaseModel):
    """A new case carries only its registration; a continued run carries the whole state too."""

    registration: CaseRegistration
    state: CaseState | None = None
