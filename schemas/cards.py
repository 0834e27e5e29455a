"""Cards and colours, one meaning each, for cases and hand-offs alike.

- A **card** (紅黃牌) is issued, permanent, and counted against a department; `CardColour` is the most severe card
  a case or hand-off holds, so it only rises. The `CaseloopCardColour` search attribute holds it.
- The **SLA colour** is computed from the running clocks and moves back when a deadline moves; the
  `CaseloopSlaColour` search attribute holds it.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from pydantic import AliasChoices, AwareDatetime, BaseModel, Field

from schemas.ledger import CardLevel, CardReason


class SlaColour(StrEnum):
    """The computed, reversible colour of the running clocks (not a card)."""

    GREEN = "green"
    BLUE = "blue"
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"

    @property
    def rank(self) -> int:
        return list(SlaColour).index(self)


class CardColour(StrEnum):
    """The most severe card issued; cards are permanent, so this only rises."""

    NONE = "none"
    YELLOW = "yellow"
    RED = "red"

    @classmethod
    def of(cls, levels: Iterable[CardLevel]) -> CardColour:
        held = set(levels)
        if CardLevel.RED in held:
            return cls.RED
        return cls.YELLOW if held else cls.NONE


class IssuedCard(BaseModel):
    """A card as the case or hand-off that issued it keeps it. A hand-off's cards spelled their department
    `department_code` and had no id before; both still read."""

    card_id: str | None = Field(None, description="the card's id in the store; None on hand-offs' early cards")
    department: str = Field(validation_alias=AliasChoices("department", "department_code"))
    level: CardLevel
    reason: CardReason
    step: str | None = Field(
        description="the step missed: a case's clock step, or a hand-off's (claim, feedback, push_back)"
    )
    issued_at: AwareDatetime
    revoked_at: AwareDatetime | None = Field(None, description="revoked on appeal: it no longer counts")
    revoked_by: str | None = Field(None, description="the department that revoked it (the coordinator)")
    revocation_reason: str | None = None

    @property
    def counts(self) -> bool:
        return self.revoked_at is None
