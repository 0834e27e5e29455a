"""What workflows record in the store beside Temporal's history: audit trail, read models, cards, scores, ratings.

Every record carries an id or a (subject, seq) chosen by the workflow, so a retried activity writes it once.
Stages, SLA colours and directions are the workflows' own enums, stored here as their string values.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from schemas.actors import Actor
from schemas.text import STORED

Id = Annotated[str, Field(min_length=1, max_length=200)]
Code = Annotated[str, Field(min_length=1, max_length=64)]
Label = Annotated[str, Field(min_length=1, max_length=40)]
# Text on its way to the store. The door and the SDK refuse control characters in free text (schemas.text); what a
# case took before that rule is scrubbed here rather than refused, so its records are still written: PostgreSQL
# refuses a NUL for good, and a refused record would jam the case just the same.
StoredText = Annotated[str, STORED]


class SubjectKind(StrEnum):
    CASE = "case"
    HANDOFF = "handoff"
    SUPERVISION_ORDER = "supervision_order"
    DELIVERY = "delivery"
    JOINT = "joint"


class AuditEntry(BaseModel):
    """One transition of a case, hand-off or supervision order; (subject_id, seq) is unique."""

    subject_id: Id
    subject_kind: SubjectKind
    seq: int = Field(ge=1, description="the subject's transition counter, kept by its workflow")
    actor: Label = Field(description="the acting role, e.g. COORDINATOR, LEAD_DEPT, SYSTEM")
    actor_id: StoredText | None = Field(None, max_length=200, description="the department code or account that acted")
    credential_id: StoredText | None = Field(None, max_length=200, description="the credential that sent the command")
    on_behalf_reason: StoredText | None = Field(
        None, max_length=2000, description="an operator's stated reason for acting on the department's behalf"
    )
    action: Label
    reason: StoredText | None = Field(None, max_length=4000)
    from_stage: str | None = Field(None, max_length=40)
    to_stage: str | None = Field(None, max_length=40)
    at: AwareDatetime

    @classmethod
    def by(
        cls,
        actor: Actor,
        action: str,
        *,
        subject_id: str,
        subject_kind: SubjectKind,
        seq: int,
        at: datetime,
        reason: str | None = None,
        from_stage: str | None = None,
        to_stage: str | None = None,
    ) -> AuditEntry:
        """The entry of what `actor` did, spelled alike for cases, hand-offs and orders: the role as `Role` spells
        it (`coordinator`, `system`), the department, the credential and an operator's stated reason."""
        return cls(
            subject_id=subject_id,
            subject_kind=subject_kind,
            seq=seq,
            actor=actor.role.value,
            actor_id=actor.department,
            credential_id=actor.credential,
            on_behalf_reason=actor.on_behalf_reason,
            action=action,
            reason=reason,
            from_stage=from_stage,
            to_stage=to_stage,
            at=at,
        )


class AuditEntryRecorded(BaseModel):
    subject_id: str
    seq: int
    recorded: bool = Field(description="False when an earlier attempt had written it already")


class AuditTrailQuery(BaseModel):
    subject_id: Id


class AuditTrail(BaseModel):
    entries: list[AuditEntry]


class CaseSnapshot(BaseModel):
    """The read model of one case after a transition: what supervisors list and filter."""

    case_id: Id
    matter_code: Code
    title: StoredText = Field(min_length=1, max_length=500)
    stage: Label
    priority: Label = "normal"
    lead_department: str | None = Field(None, max_length=64)
    locality: str | None = Field(None, max_length=64)
    co_units: list[str] = Field(default_factory=list)
    sla_colour: Label = "green"
    supervision_level: Label = "none"
    opened_at: AwareDatetime
    committed_deadline: AwareDatetime | None = None
    deadline_estimated: bool = Field(False, description="the deadline falls in a year without an official calendar")
    next_due_at: AwareDatetime | None = None
    next_due_step: str | None = Field(None, max_length=40)
    closed_at: AwareDatetime | None = None
    channel: str | None = Field(None, max_length=64, description="the intake channel's code, e.g. 12345")
    channel_reference: str | None = Field(None, max_length=64, description="the channel's own record number")


class CaseTransition(BaseModel):
    """A transition's audit entry and the case as it stands after it, written in one unit of work."""

    entry: AuditEntry
    case: CaseSnapshot

    @model_validator(mode="after")
    def _same_case(self) -> CaseTransition:
        if self.entry.subject_kind is not SubjectKind.CASE or self.entry.subject_id != self.case.case_id:
            raise ValueError("entry must be an audit entry of this case (subject_kind case, subject_id case_id)")
        return self


class CaseRecordView(CaseSnapshot):
    version: int = Field(description="seq of the transition the record reflects")
    updated_at: datetime
    applied: bool = Field(False, description="this call changed the record (False: a retry or a stale write)")


class CaseRecordQuery(BaseModel):
    case_id: Id


class HandoffSnapshot(BaseModel):
    """The read model of one push and its loop."""

    handoff_id: Id
    matter_code: Code
    direction: Label
    stage: Label
    source_department: Code
    target_department: str | None = Field(None, max_length=64)
    source_case_number: StoredText | None = Field(None, max_length=200)
    locality: str | None = Field(None, max_length=64)
    push_version: int = Field(1, ge=1)
    created_at: AwareDatetime
    pushed_at: AwareDatetime | None = None
    claimed_at: AwareDatetime | None = None
    feedback_at: AwareDatetime | None = None
    closed_at: AwareDatetime | None = None
    next_due_at: AwareDatetime | None = None
    next_due_step: str | None = Field(None, max_length=40)
    sla_colour: Label | None = Field(
        None, description="the computed colour it publishes as CaseloopSlaColour; None in writes recorded before"
    )


class HandoffTransition(BaseModel):
    entry: AuditEntry
    handoff: HandoffSnapshot

    @model_validator(mode="after")
    def _same_handoff(self) -> HandoffTransition:
        if self.entry.subject_kind is not SubjectKind.HANDOFF or self.entry.subject_id != self.handoff.handoff_id:
            raise ValueError("entry must be an audit entry of this hand-off (subject_kind handoff, subject_id)")
        return self


class HandoffRecordView(HandoffSnapshot):
    version: int
    updated_at: datetime
    applied: bool = False


class SupervisionOrderStatus(StrEnum):
    ISSUED = "issued"
    RECEIVED = "received"
    ANSWERED = "answered"
    LIFTED = "lifted"


class SupervisionOrderSnapshot(BaseModel):
    """A supervision order (督辦單) as it stands: one matter, one order, its own deadline."""

    order_id: Id
    case_id: Id
    department_code: Code = Field(description="the unit the order is addressed to")
    co_departments: list[str] = Field(default_factory=list)
    level: Label = Field(description="the rung of the escalation ladder that issued it, e.g. L2")
    basis: StoredText | None = Field(None, max_length=500, description="why: the breach, a leader's instruction")
    content: StoredText = Field(min_length=1, max_length=4000)
    status: SupervisionOrderStatus
    deadline: AwareDatetime
    issued_at: AwareDatetime
    received_at: AwareDatetime | None = None
    answered_at: AwareDatetime | None = None
    lifted_at: AwareDatetime | None = None


class JointMeetingSnapshot(BaseModel):
    """A report to the city leaders' joint meeting (市領導會辦) as it stands: requested, then its outcome recorded."""

    meeting_id: Id = Field(description="unique across cases: the case id and the case's own meeting id")
    case_id: Id
    departments: list[str] = Field(default_factory=list, max_length=40, description="the departments involved")
    requested_by: str | None = Field(None, max_length=64, description="the coordinator; None: the escalation ladder")
    basis: StoredText = Field(min_length=1, max_length=2000)
    requested_at: AwareDatetime
    due_at: AwareDatetime | None = None
    outcome: StoredText | None = Field(None, max_length=4000)
    decided_at: AwareDatetime | None = None
    decided_by: str | None = Field(None, max_length=64)


class JointMeetingView(JointMeetingSnapshot):
    version: int = Field(description="how many times it was written with a change")


class SupervisionOrderTransition(BaseModel):
    entry: AuditEntry
    order: SupervisionOrderSnapshot

    @model_validator(mode="after")
    def _same_order(self) -> SupervisionOrderTransition:
        if self.entry.subject_kind is not SubjectKind.SUPERVISION_ORDER or self.entry.subject_id != self.order.order_id:
            raise ValueError("entry must be an audit entry of this order (subject_kind supervision_order)")
        return self


class SupervisionOrderView(SupervisionOrderSnapshot):
    version: int
    updated_at: datetime
    applied: bool = False


class CardLevel(StrEnum):
    YELLOW = "yellow"
    RED = "red"


class CardReason(StrEnum):
    SIGN_OVERDUE = "sign_overdue"
    COMMIT_OVERDUE = "commit_overdue"
    REPORT_OVERDUE = "report_overdue"
    DEADLINE_OVERDUE = "deadline_overdue"
    CLAIM_OVERDUE = "claim_overdue"
    FEEDBACK_OVERDUE = "feedback_overdue"
    PUSH_BACK_OVERDUE = "push_back_overdue"
    IMPROPER_RETURN = "improper_return"
    SECOND_YELLOW = "second_yellow"
    BAD_RATING = "bad_rating"
    DELIVERY_LATE = "delivery_late"
    STEP_OVERDUE = "step_overdue"


class CardIssue(BaseModel):
    """A card issued to a department; it also becomes a score event against that department."""

    card_id: Id = Field(description="chosen by the workflow, e.g. case id + step + deadline version + level")
    subject_id: Id
    subject_kind: SubjectKind
    department_code: Code
    level: CardLevel
    reason: CardReason
    step: str | None = Field(None, max_length=40)
    due_at: AwareDatetime | None = Field(None, description="the deadline that was missed")
    issued_at: AwareDatetime
    points: Decimal | None = Field(None, description="score points; None: the configured weight of the level")


class CardRevocation(BaseModel):
    card_id: Id
    revoked_at: AwareDatetime
    revoked_by: StoredText = Field(min_length=1, max_length=200)
    reason: StoredText = Field(min_length=1, max_length=4000, description="a revocation always says why (appeal)")


class CardRecord(BaseModel):
    card_id: str
    subject_id: str
    subject_kind: SubjectKind
    department_code: str
    level: CardLevel
    reason: CardReason
    step: str | None
    due_at: datetime | None
    issued_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None
    revocation_reason: str | None
    score_event_id: str
    recorded: bool = Field(False, description="this call wrote it (False: a retry found it)")


class ScoreKind(StrEnum):
    """Assessment score events (營商環境考核加減分)."""

    ON_TIME_CLOSE = "on_time_close"
    CARD_YELLOW = "card_yellow"
    CARD_RED = "card_red"
    CARD_REVOKED = "card_revoked"
    CIRCULAR = "circular"
    ADMONITORY_TALK = "admonitory_talk"
    REDO = "redo"
    BAD_RATING = "bad_rating"
    TYPICAL_CASE = "typical_case"


class ScoreEventInput(BaseModel):
    event_id: Id
    department_code: Code
    kind: ScoreKind
    subject_id: Id
    occurred_at: AwareDatetime
    points: Decimal | None = Field(None, description="None: the configured weight of the kind")
    note: StoredText | None = Field(None, max_length=500)


class ScoreEventRecorded(BaseModel):
    event_id: str
    points: Decimal
    recorded: bool


class ScoreTotalsQuery(BaseModel):
    start: AwareDatetime
    end: AwareDatetime = Field(description="exclusive")


class DepartmentScore(BaseModel):
    department_code: str
    points: Decimal
    events: int


class ScoreTotals(BaseModel):
    start: datetime
    end: datetime
    departments: list[DepartmentScore]


class RatingLevel(StrEnum):
    """The five levels of 好差評; the two lowest are bad ratings."""

    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"
    VERY_DISSATISFIED = "very_dissatisfied"

    @property
    def is_bad(self) -> bool:
        return self in (RatingLevel.DISSATISFIED, RatingLevel.VERY_DISSATISFIED)


class RatingInput(BaseModel):
    rating_id: Id
    case_id: Id
    department_code: Code = Field(description="the rated department; a bad rating counts against it")
    level: RatingLevel
    channel: StoredText | None = Field(None, max_length=40)
    comment: StoredText | None = Field(None, max_length=4000)
    rated_at: AwareDatetime


class RatingRecorded(BaseModel):
    rating_id: str
    bad: bool
    score_event_id: str | None
    recorded: bool
