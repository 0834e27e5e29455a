"""What a case workflow is started with and the state it carries, whole, across continue-as-new."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from schemas.cards import IssuedCard
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
from schemas.clock import CardProfileName, ClockSpec, DayKind, DayNote, SlaClockState
from schemas.delivery import Push, SmsNotification
from schemas.intake import CaseChannel
from schemas.ledger import RatingLevel, SupervisionOrderStatus
from schemas.registry import CaseParties, Limit, LimitUnit, MatterInfo, MatterStep
from schemas.text import FREE_TEXT, canonical_text
from schemas.verification import AttachedVerification

Title = Annotated[str, Field(min_length=1, max_length=500), FREE_TEXT]


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


# The longest limit a case accepts, per unit: far inside the legal clock's fifty years, and far beyond any real step.
DEFAULT_LIMIT_MAX: dict[LimitUnit, Decimal] = {
    LimitUnit.WORKING_DAYS: Decimal(3650),
    LimitUnit.NATURAL_DAYS: Decimal(3650),
    LimitUnit.OFFICE_HOURS: Decimal(2000),
    LimitUnit.NATURAL_HOURS: Decimal(2000),
}
# What a policy may raise those to: still inside the clock's horizon in any calendar.
LIMIT_CEILING: dict[LimitUnit, Decimal] = {
    LimitUnit.WORKING_DAYS: Decimal(10000),
    LimitUnit.NATURAL_DAYS: Decimal(15000),
    LimitUnit.OFFICE_HOURS: Decimal(50000),
    LimitUnit.NATURAL_HOURS: Decimal(300000),
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
    receipt_window_days: int = Field(
        366,
        ge=1,
        le=3660,
        description="how far before its launch a case may have been received; an earlier received_at is refused, "
        "as its clocks would have run out before it existed",
    )
    limit_max: dict[LimitUnit, Decimal] = Field(
        default_factory=lambda: dict(DEFAULT_LIMIT_MAX),
        description="the longest limit a case accepts, per unit (a unit left out keeps its default): commitments, "
        "imposed, redo, reopen and order limits, a deadline with its extensions, and this policy's own limits",
    )
    max_supervision_orders: int = Field(20, ge=1, le=100, description="supervision orders per case, the ladder's too")
    joint_meeting_limit: Limit = Field(
        default_factory=lambda: working_days(10),
        description="a leaders' joint meeting's outcome is due this long after it is requested, unless the request "
        "or the registry's leaders' rung names a limit",
    )
    leaders_rung_after: Limit = Field(
        default_factory=lambda: working_days(5),
        description="how long after an admonitory talk the registry's leaders' rung reports a step still overdue to "
        "the leaders' joint meeting, unless the rung names its own",
    )
    channel_deadline_warning: float = Field(
        0.2,
        gt=0,
        lt=1,
        description="the share of the time from receipt to a channel's own deadline (a 12345 work order's) left when "
        "the lead department and the channel are warned (the hour limits' yellow: 20 %)",
    )
    max_joint_meetings: int = Field(5, ge=1, le=50, description="leaders' joint meetings per case, the ladder's too")
    explained_days: int = Field(
        40,
        ge=0,
        le=400,
        description="holidays, make-up working days and pauses a running deadline's explanation lists (weekends are "
        "counted, not listed)",
    )
    max_comments: int = Field(1000, ge=1, le=10000, description="comments per case")
    max_extension_requests: int = Field(10, ge=1, le=100, description="extension requests per case, denied ones too")
    push_attempts: int = Field(
        6,
        ge=1,
        le=50,
        description="attempts to reach a department's system before its push is put in the department's inbox and "
        "the coordinator is told",
    )
    excerpt_chars: int = Field(
        200,
        ge=20,
        le=2000,
        description="characters of a reason or note the timeline keeps in the workflow state; the store keeps all",
    )
    state_bytes: int = Field(
        1_000_000,
        ge=100_000,
        le=1_500_000,
        description="serialised state beyond which the case trims its timeline and continues as new (Temporal "
        "refuses a continue-as-new input over 2 MB)",
    )
    timeline_answer_bytes: int = Field(
        1_000_000, ge=10_000, le=3_000_000, description="the most one timeline query answers (gRPC carries 4 MB)"
    )

    @model_validator(mode="after")
    def _limits_within_max(self) -> CasePolicy:
        for unit, most in self.limit_max.items():
            if not 0 < most <= LIMIT_CEILING[unit]:
                raise ValueError(f"limit_max: {unit.value} must lie between 0 and {LIMIT_CEILING[unit]}, not {most}")
        named = {f"step_limits.{step.value}": limit for step, limit in self.step_limits.items()}
        named |= {
            "supervised_progress_report": self.supervised_progress_report,
            "supervision_order_limit": self.supervision_order_limit,
            "ladder_order_limit": self.ladder_order_limit,
            "redo_limit": self.redo_limit,
            "extension_cap": self.extension_cap,
            "joint_meeting_limit": self.joint_meeting_limit,
            "leaders_rung_after": self.leaders_rung_after,
        }
        for name, limit in named.items():
            if limit.amount > self.longest(limit.unit):
                raise ValueError(f"{name}: {limit} exceeds limit_max ({self.longest(limit.unit)} {limit.unit.value})")
        return self

    def longest(self, unit: LimitUnit) -> Decimal:
        """The longest limit the case accepts in `unit`."""
        return self.limit_max.get(unit, DEFAULT_LIMIT_MAX[unit])


class CoUnitNomination(BaseModel):
    department: Code
    mandatory: bool = Field(True, description="the case waits for its signature")


class CaseRegistration(BaseModel):
    """A case as the initiating system registers it. Only codes reach IDs, search attributes and summaries."""

    system: Code = Field(description="the initiating department system, e.g. 12345-hotline")
    case_number: Code = Field(description="the initiating system's own case number")
    matter_code: Code
    locality_code: Code = Field(description="the locality where the problem is: the dual launch's second party")
    title: Title = Field(description="kept in the payload and the read model only")
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
    channel: CaseChannel | None = Field(
        None, description="the intake channel and its record number, for a case taken in from a channel"
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

    def receipt_refusal(self, now: datetime) -> tuple[str, str] | None:
        """The rule and the reason that refuse `received_at` at a launch at `now`, if any: a receipt in the future,
        or one so long ago that every clock and rung of the case would fall due at once."""
        if self.received_at is None:
            return None
        if self.received_at > now + RECEIPT_SKEW:
            return RECEIPT_IN_FUTURE, "received_at: a case cannot have been received after its launch"
        window = timedelta(days=self.policy.receipt_window_days)
        if self.received_at < now - window:
            return RECEIPT_OUTSIDE_WINDOW, (
                f"received_at: a case must have been received within {window.days} days before its launch "
                "(the policy's receipt_window_days)"
            )
        return None

    def differing_field(self, stored: Mapping[str, Any]) -> str | None:
        """The first field that makes a case the same case where `stored` (the registration a case workflow was
        started with, as JSON) differs from this one; None when it is this registration."""
        for name in SAME_CASE_FIELDS:
            theirs = stored.get(name)
            if name == "title" and isinstance(theirs, str):
                theirs = canonical_text(theirs)
            if theirs != getattr(self, name):
                return name
        return None


# A case ID is `case-<system>~<case number>`. Codes never hold a `~` (schemas.text.Code), so no two registrations
# share an ID, and `~` is as safe in a Temporal workflow ID as in a URL path.
CASE_ID_PREFIX = "case-"
CASE_ID_SEPARATOR = "~"
# What makes a launch the launch of a case already registered under its ID; any other difference is refused.
SAME_CASE_FIELDS = ("system", "case_number", "matter_code", "locality_code", "title")
# The rules that refuse a launch, with the field they concern.
CASE_NUMBER_TAKEN = "case_number.taken"
RECEIPT_IN_FUTURE = "received_at.future"
RECEIPT_OUTSIDE_WINDOW = "received_at.window"
# How far a launcher's clock may run ahead of ours.
RECEIPT_SKEW = timedelta(minutes=5)


def case_id_of(system: str, case_number: str) -> str:
    """The workflow ID: no personal data, only the initiating system's codes."""
    return f"{CASE_ID_PREFIX}{system}{CASE_ID_SEPARATOR}{case_number}"


def case_id_parts(case_id: str) -> tuple[str, str] | None:
    """The initiating system and case number a case ID of today's form names; None for any other ID."""
    if not case_id.startswith(CASE_ID_PREFIX) or case_id.count(CASE_ID_SEPARATOR) != 1:
        return None
    system, case_number = case_id.removeprefix(CASE_ID_PREFIX).split(CASE_ID_SEPARATOR)
    if not system or not case_number:
        return None
    return system, case_number


def legacy_case_id_of(system: str, case_number: str) -> str:
    """The ID cases launched before the separator were given, `case-<system>-<case number>`. Two registrations can
    share it (system A-B, number C and system A, number B-C): cases keep it, but a lookup believes it only once the
    case's registration names the same system and number."""
    return f"{CASE_ID_PREFIX}{system}-{case_number}"


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


class JointMeeting(BaseModel):
    """A report to the city leaders' joint meeting (市領導會辦): requested → outcome recorded, with its own clock."""

    meeting_id: str = Field(description="unique within the case, e.g. m1")
    departments: list[str] = Field(description="the departments involved")
    requested_by: Actor | None = Field(description="None when the escalation ladder's last rung requested it")
    basis: str
    limit: Limit
    requested_at: AwareDatetime
    due_at: AwareDatetime | None = None
    outcome: str | None = None
    decided_at: AwareDatetime | None = None
    decided_by: str | None = None

    @property
    def open(self) -> bool:
        return self.decided_at is None


class CaseVerification(AttachedVerification):
    """A verification call a party made for the case, as attached: who asked which item, who answered, how, and the
    answer's keyed digest. Never the question or the answer."""


class DeadlineExplanation(BaseModel):
    """Why a running deadline falls when it does: the days its count skipped (and make-up days it counted)."""

    due_at: AwareDatetime
    estimated: bool = Field(description="a year on the way had no official notice and no override")
    estimated_years: list[int] = Field(default_factory=list)
    skipped: dict[DayKind, int] = Field(
        default_factory=dict, description="days not counted by why (weekend, holiday, paused, the day of receipt)"
    )
    makeup_workdays: int = Field(0, description="weekend days counted as make-up working days")
    days: list[DayNote] = Field(
        default_factory=list, description="the holidays, make-up working days and pauses, up to the policy's number"
    )
    more_days: int = Field(0, description="such days beyond those listed")

    def summary(self) -> str:
        """One line: what the count skipped, the make-up days it counted, and whether a year was estimated."""
        parts = [f"{count} {kind.value}" for kind, count in self.skipped.items() if kind is not DayKind.RECEIPT]
        text = ("skipped " + ", ".join(parts)) if parts else "no day skipped"
        named = sorted({note.reason for note in self.days if note.kind is DayKind.HOLIDAY})
        if named:
            text += f" ({'; '.join(named)})"
        if self.makeup_workdays:
            text += f"; counted {self.makeup_workdays} make-up working day(s)"
        if self.estimated:
            text += f"; estimated ({', '.join(str(year) for year in self.estimated_years) or 'calendar'})"
        return text


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
    explanation: DeadlineExplanation | None = Field(None, description="the running deadline's skipped days")


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
    text_length: int | None = Field(
        None,
        description="set when the workflow keeps the reason and note shortened: their full length in characters; "
        "the store's audit trail holds them whole",
    )


class AppliedCommand(BaseModel):
    """A command the case applied, by its id: a repeat must be the same command (its result names the update) from
    the same actor."""

    update_id: str
    result: CommandResult
    actor: Actor | None = Field(None, description="None for commands applied before the actor was remembered")


class Outbox(BaseModel):
    """Pushes and SMS on their way; a continued run sends them again under the same ids, so each arrives once."""

    pushes: list[Push] = Field(default_factory=list)
    sms: list[SmsNotification] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.pushes or self.sms)


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
    meetings: list[JointMeeting] = Field(default_factory=list, description="reports to the leaders' joint meeting")
    verifications: list[CaseVerification] = Field(
        default_factory=list, description="verification calls made for the case, outcome and digest only"
    )
    score_events: int = Field(0, description="score events issued (besides cards), for their ids")
    pushes: int = Field(0, description="pushes issued, for their ids")
    comments: int = Field(0, description="comments made, against the policy's cap")
    outbox: Outbox = Field(default_factory=Outbox)
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
        return CardColour.of(card.level for card in self.cards if card.counts)


class CaseWorkflowInput(BaseModel):
    """A new case carries only its registration; a continued run carries the whole state too."""

    registration: CaseRegistration
    state: CaseState | None = None
