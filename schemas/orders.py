"""Supervision (督辦) in one vocabulary for cases and hand-offs: the orders' id scheme, `<subject id>.o<n>` with n
counting from 1 within the subject (hand-offs named theirs `<hand-off id>:order:<n>` before; those keep their ids),
the escalation rungs a department reaches, which both loops count in the same metric, and the push each rung of the
ladder sends, the same from either loop."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field

from schemas.clock import RungKind
from schemas.delivery import IDEMPOTENCY_KEY_PATTERN, PushKind
from schemas.ledger import SupervisionOrderStatus
from schemas.registry import Limit, LimitUnit
from schemas.text import FREE_TEXT

Answer = Annotated[str, Field(min_length=1, max_length=4000), FREE_TEXT]

# The rules a refused answer to a ladder's supervision order carries.
RULE_ORDER = "supervision_order.unknown"
RULE_ORDER_DEPARTMENT = "actor.order_department"
RULE_ORDER_STATUS = "supervision_order.status"


def ladder_order_limit() -> Limit:
    """How long the late department has to answer a ladder's order, as a case's ladder order gives it."""
    return Limit(amount=Decimal(5), unit=LimitUnit.WORKING_DAYS)


# What the department's system is sent for each rung of the ladder after a missed deadline (its body names the rung).
LADDER_PUSHES: dict[RungKind, PushKind] = {
    RungKind.REMINDER_NOTICE: PushKind.REMINDER,
    RungKind.CIRCULAR: PushKind.CIRCULAR,
    RungKind.ADMONITORY_TALK: PushKind.REMINDER,
}


class LadderRung(BaseModel):
    """A rung of the escalation ladder a late joint step or delivery climbs after its card (reminder notice,
    supervision order, circular, admonitory talk): when it is due, and when it fired."""

    kind: RungKind
    at: AwareDatetime
    fired_at: AwareDatetime | None = None


class Escalation(BaseModel):
    """A rung of the escalation ladder a department reached, for the domain metrics."""

    department: str
    rung: RungKind


def order_number(number: int) -> str:
    """The order's id within its case or hand-off: o1, o2, …"""
    return f"o{number}"


def supervision_order_id(subject_id: str, local_id: str) -> str:
    """The order's id in the store and in pushes, unique across cases and hand-offs."""
    return f"{subject_id}.{local_id}"


class LadderOrder(BaseModel):
    """A supervision order (督辦單) the ladder issued on a late joint step or a missing delivery day: to the late
    department, which answers it by its deadline on the legal clock; stored as a case's orders are
    (`supervision_orders`, with its own audit trail). Unanswered at its deadline it earns a red card and the
    ladder's next rung."""

    order_id: str = Field(description="<subject id>.o<n>, unique across cases, hand-offs, applications and days")
    department: str
    step: str = Field(description="the late step (a delivery day's: deliver)")
    basis: str
    content: str
    deadline: AwareDatetime
    issued_at: AwareDatetime
    status: SupervisionOrderStatus = SupervisionOrderStatus.ISSUED
    answered_at: AwareDatetime | None = None
    overdue_at: AwareDatetime | None = Field(None, description="its deadline passed unanswered: carded, climbed")
    lifted_at: AwareDatetime | None = None
    seq: int = Field(1, description="its audit trail's last entry")

    @property
    def awaited(self) -> bool:
        """Issued, neither answered nor lifted, and its deadline not yet reached."""
        return self.status is SupervisionOrderStatus.ISSUED and self.overdue_at is None


OrderCommandId = Annotated[str, Field(min_length=1, max_length=100, pattern=IDEMPOTENCY_KEY_PATTERN)]


class AnswerLadderOrder(BaseModel):
    """The ordered department answers a ladder's supervision order; the door sets the department from the
    credential."""

    command_id: OrderCommandId
    department: str = Field(min_length=1, max_length=64)
    order_id: str = Field(min_length=1, max_length=200)
    answer: Answer


class OrderAnswerPost(BaseModel):
    """The door's body for AnswerLadderOrder, as a case's `answer-supervision-order` takes it."""

    order_id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.~:-]{0,199}$")
    answer: Answer
