"""What a case transition asks of the legal clock and of the store, each in one activity call."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from schemas.clock import (
    ClockSpec,
    Deadline,
    DeadlineChange,
    DeadlineExtension,
    DeadlineSuspension,
    RungSchedule,
    RungScheduleRequest,
)
from schemas.delivery import Push
from schemas.ledger import (
    AuditEntry,
    CardIssue,
    CardRevocation,
    CaseSnapshot,
    JointMeetingSnapshot,
    RatingInput,
    ScoreEventInput,
    SupervisionOrderTransition,
)
from schemas.orders import Escalation as Escalation  # shared by both loops; the case's modules import it here


class ClockPlanItem(BaseModel):
    """One computation: a step's rungs, a window's deadline, or a deadline moved by an extension or a pause."""

    key: str
    schedule: RungScheduleRequest | None = None
    window: ClockSpec | None = None
    extension: DeadlineExtension | None = None
    suspension: DeadlineSuspension | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ClockPlanItem:
        given = [self.schedule, self.window, self.extension, self.suspension]
        if sum(item is not None for item in given) != 1:
            raise ValueError(f"{self.key}: give exactly one of schedule, window, extension, suspension")
        return self


class ClockPlanRequest(BaseModel):
    items: list[ClockPlanItem] = Field(min_length=1)


class ClockPlanResult(BaseModel):
    key: str
    schedule: RungSchedule | None = None
    deadline: Deadline | None = None
    change: DeadlineChange | None = None


class ClockPlan(BaseModel):
    results: list[ClockPlanResult]

    def by_key(self) -> dict[str, ClockPlanResult]:
        return {result.key: result for result in self.results}


class CaseChanges(BaseModel):
    """A transition's store writes: its audit rows with the case's read model, orders, cards, scores, ratings;
    and what the domain metrics count once they are written."""

    case: CaseSnapshot
    commands: list[str] = Field(default_factory=list, description="the commands applied, by update name")
    escalations: list[Escalation] = Field(default_factory=list)
    entries: list[AuditEntry] = Field(default_factory=list)
    orders: list[SupervisionOrderTransition] = Field(default_factory=list)
    cards: list[CardIssue] = Field(default_factory=list)
    scores: list[ScoreEventInput] = Field(default_factory=list)
    ratings: list[RatingInput] = Field(default_factory=list)
    inboxed: list[Push] = Field(
        default_factory=list, description="pushes no attempt delivered, put in their department's inbox"
    )
    revocations: list[CardRevocation] = Field(default_factory=list, description="cards revoked on appeal")
    meetings: list[JointMeetingSnapshot] = Field(
        default_factory=list, description="leaders' joint meetings requested or decided"
    )
    pushes: list[Push] = Field(
        default_factory=list,
        description="the transition's pushes: each to a department without a webhook goes in its inbox in this write",
    )


class CaseChangesRecorded(BaseModel):
    """How many of each were written by this call; a retry finds them written and counts none."""

    entries: int
    orders: int
    cards: int
    scores: int
    ratings: int
    inboxed: int = 0
    revocations: int = 0
    meetings: int = 0
    held: list[str] = Field(default_factory=list, description="ids of the pushes this write put in their inboxes")


class PendingChanges(BaseModel):
    """Store writes not yet confirmed: written with the next transition's, so the store catches up after an outage."""

    commands: list[str] = Field(default_factory=list)
    escalations: list[Escalation] = Field(default_factory=list)
    entries: list[AuditEntry] = Field(default_factory=list)
    order_entries: list[AuditEntry] = Field(default_factory=list)
    cards: list[CardIssue] = Field(default_factory=list)
    scores: list[ScoreEventInput] = Field(default_factory=list)
    ratings: list[RatingInput] = Field(default_factory=list)
    inboxed: list[Push] = Field(default_factory=list)
    revocations: list[CardRevocation] = Field(default_factory=list)
    meetings: list[str] = Field(default_factory=list, description="the case's meetings to write, by meeting id")

    @property
    def empty(self) -> bool:
        return not (
            self.revocations
            or self.meetings
            or self.entries
            or self.order_entries
            or self.cards
            or self.scores
            or self.ratings
            or self.escalations
            or self.inboxed
        )
