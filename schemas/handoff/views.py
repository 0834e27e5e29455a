"""What a hand-off answers: its view as its parties see it, and the thread of a loop 1 and its loop 2s."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AliasChoices,
    AwareDatetime,
    BaseModel,
    Field,
)

from schemas.cards import CardColour, IssuedCard, SlaColour
from schemas.handoff.state import Feedback, HandoffOrder, HandoffStage, HandoffVerification, Route
from schemas.registry import HandoffDirection
from schemas.text import IDENTIFIER


class Deadlines(BaseModel):
    end_to_end: AwareDatetime | None
    claim: AwareDatetime | None
    feedback: AwareDatetime | None
    acknowledge: AwareDatetime | None
    reroute: AwareDatetime | None
    push: AwareDatetime | None = None
    act: AwareDatetime | None = None
    supervision_order: AwareDatetime | None = None
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
    verifications: list[HandoffVerification] = Field(
        default_factory=list, description="verification calls attached to the hand-off: outcome and answer digest only"
    )


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
