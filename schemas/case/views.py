"""What a case answers to queries: its current state as supervisors see it, and its timeline."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field

from schemas.case.stages import CardColour, CaseStage, ClockStep, Priority, SlaColour, SupervisionLevel
from schemas.case.state import (
    Assignment,
    CaseVerification,
    ClosingReport,
    Commitment,
    DeadlineExplanation,
    ExtensionRequest,
    IssuedCard,
    JointMeeting,
    SupervisionOrder,
    TimelineEntry,
)
from schemas.clock import ArmedRung
from schemas.intake import CaseChannel


class CaseQuery(BaseModel):
    """Asks for the case's state; a model, so the query can grow options without breaking callers."""


class ClockView(BaseModel):
    key: str
    step: ClockStep
    department: str
    due_at: AwareDatetime | None
    colour: SlaColour
    suspended: bool
    estimated: bool
    rungs: list[ArmedRung] = Field(description="the armed deadline's rungs: when each fires or fired")
    explanation: DeadlineExplanation | None = Field(
        None, description="why the deadline falls when it does: the days skipped and why, and whether estimated"
    )


class CaseView(BaseModel):
    case_id: str
    system: str
    case_number: str
    matter_code: str
    stage: CaseStage
    priority: Priority
    coordinator: str
    supervisors: list[str] = Field(default_factory=list)
    parties: list[str] = Field(
        default_factory=list, description="every department with a part in the case (CaseloopParties), by code"
    )
    lead_department: str | None
    locality: str
    supervision_level: SupervisionLevel
    card_colour: CardColour
    sla_colour: SlaColour
    next_due_at: AwareDatetime | None
    next_due_step: ClockStep | None
    registered_at: AwareDatetime
    committed_due_at: AwareDatetime | None
    assignments: list[Assignment]
    commitment: Commitment | None
    extensions: list[ExtensionRequest]
    closing: ClosingReport | None
    orders: list[SupervisionOrder]
    cards: list[IssuedCard] = Field(
        description="every card issued; one revoked on appeal says so, and no longer counts"
    )
    meetings: list[JointMeeting] = Field(
        default_factory=list, description="reports to the city leaders' joint meeting (市領導會辦), with their outcomes"
    )
    verifications: list[CaseVerification] = Field(
        default_factory=list, description="verification calls attached to the case: outcome and answer digest only"
    )
    clocks: list[ClockView]
    redo_count: int
    reopen_count: int
    report_overdue: bool
    closed_at: AwareDatetime | None
    reopen_closes_at: AwareDatetime | None
    seq: int = Field(description="transitions so far; the audit trail holds as many rows")
    undelivered: list[str] = Field(
        default_factory=list, description="pushes still on their way to a department system, by push id"
    )
    runs: int = Field(description="workflow runs so far (continue-as-new)")
    channel: CaseChannel | None = Field(None, description="the intake channel and its record number, if any")


class TimelineQuery(BaseModel):
    after_seq: int = Field(0, ge=0, description="entries with a greater seq")
    limit: int = Field(100, ge=1, le=1000)


class Timeline(BaseModel):
    entries: list[TimelineEntry]
    total: int = Field(description="transitions so far")
    oldest_kept_seq: int | None = Field(
        description="older entries are only in the store's audit trail (the workflow keeps the recent ones)"
    )
    more: bool = Field(
        False, description="kept entries follow the last one given (the answer's size is capped): ask after its seq"
    )
