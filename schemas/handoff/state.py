"""The hand-off's stages and the state it carries, whole, across continue-as-new: routes, feedback, orders,
clocks, owed store writes and notices."""

from __future__ import annotations

from enum import StrEnum

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
)

from schemas.cards import CardColour, IssuedCard, SlaColour
from schemas.clock import SlaClockState
from schemas.delivery import Push
from schemas.handoff.bounds import Code, Reference, Remark
from schemas.handoff.events import FindingKind, SourceEvent
from schemas.handoff.ids import DIRECTION_CODES
from schemas.handoff.policy import HandoffPolicy
from schemas.ledger import (
    CardIssue,
    HandoffTransition,
    ScoreEventInput,
    SupervisionOrderStatus,
    SupervisionOrderTransition,
)
from schemas.orders import Escalation
from schemas.registry import HandoffDirection, Limit, MatterInfo, MatterStep
from schemas.verification import AttachedVerification


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
    policy: HandoffPolicy = Field(
        default_factory=HandoffPolicy,
        description="the tuning numbers it was admitted with; hand-offs admitted before it was kept run on defaults",
    )

    def limit(self, step: MatterStep) -> Limit | None:
        return self.matter.limits.get(step) or self.policy.default_limits.get(step)

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
    # From CLOCKS_PATCH on: the matter's push and act limits when it names them, and the open supervision order's.
    PUSH = "push"  # from the push falling due to its delivery
    ACT = "act"  # from the claim to the measure started
    SUPERVISION_ORDER = "supervision_order"  # from the order's issue to its answer (the feedback)


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


class HandoffVerification(AttachedVerification):
    """A verification call a party made for the hand-off, as attached: who asked which item, who answered, how, and
    the answer's keyed digest. Never the question or the answer."""


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
    verifications: list[HandoffVerification] = Field(
        default_factory=list, description="verification calls made for the hand-off, outcome and digest only"
    )
    audit_seq: int = 0
    handled_commands: list[str] = Field(default_factory=list)
    handled_as: dict[str, str] = Field(
        default_factory=dict,
        description="what each remembered command id applied (update and actor), so a reused id is refused; "
        "ids remembered before it was kept have none",
    )
    answers: dict[str, dict[str, JsonValue]] = Field(
        default_factory=dict,
        description="the view each remembered command id answered (as JSON), so a repeat answers it again, across "
        "runs too; ids remembered before it was kept answer the hand-off as it is",
    )
    uncounted_commands: list[str] = Field(
        default_factory=list, description="commands applied whose metrics go with the next store write"
    )
    uncounted_escalations: list[Escalation] = Field(
        default_factory=list, description="escalation rungs reached whose metrics go with the next store write"
    )
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
