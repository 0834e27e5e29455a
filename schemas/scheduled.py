"""Scheduled deliveries with a deadline (定時報送): one department delivers data to another every working day by a
local time, e.g. the day's retail prices of 87 farm products to the school-canteen platform before 11:00.

One workflow per registry entry and day expects the delivery, records it, and cards the deliverer when it is late.
"""

from __future__ import annotations

from datetime import date, time
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, JsonValue, model_validator

from schemas.cards import IssuedCard
from schemas.delivery import IDEMPOTENCY_KEY_PATTERN
from schemas.limits import LimitText
from schemas.orders import LadderOrder, LadderRung, ladder_order_limit
from schemas.verification import Code

CommandId = Annotated[str, Field(min_length=1, max_length=100, pattern=IDEMPOTENCY_KEY_PATTERN)]

# The rule names a refused delivery command carries.
RULE_DELIVERER = "actor.deliverer"
RULE_RECEIVER = "actor.receiver"
RULE_STATUS = "delivery.status"
RULE_RECORDS = "delivery.records"


class DeliveryCalendar(StrEnum):
    """Which days a delivery is expected on."""

    # Working days of the legal calendar: weekends and statutory holidays off, make-up working days on.
    WORKING_DAYS = "working-days"
    NATURAL_DAYS = "natural-days"


class ScheduledDelivery(BaseModel):
    """A registry entry: who delivers what to whom, on which calendar, by what local time (Asia/Shanghai)."""

    code: Code
    name: str = Field(min_length=1, max_length=200)
    deliverer: Code
    receiver: Code
    calendar: DeliveryCalendar = DeliveryCalendar.WORKING_DAYS
    due: time = Field(description="local time the delivery is due by")
    missing_after: time = Field(time(17, 30), description="local time the day closes: nothing by then is missing")
    max_records: int = Field(1000, ge=1, le=10000)
    pull_url: str | None = Field(
        None, max_length=500, description="the deliverer's system, asked for the day's records at pull_at"
    )
    pull_at: time | None = Field(None, description="local time to pull, before due")
    secret_ref: str | None = Field(None, max_length=100, description="signs the pull and the deliverer's answer")
    order_limit: LimitText = Field(
        default_factory=ladder_order_limit,
        description="how long the deliverer has to answer the supervision order a missing day issues it",
    )
    active: bool = True

    @model_validator(mode="after")
    def _closes_after_due(self) -> ScheduledDelivery:
        if self.missing_after <= self.due:
            raise ValueError(f"missing_after ({self.missing_after}) must come after due ({self.due})")
        if (self.pull_url is None) != (self.pull_at is None):
            raise ValueError("pull_url and pull_at go together")
        if self.pull_at is not None and self.pull_at >= self.due:
            raise ValueError(f"pull_at ({self.pull_at}) must come before due ({self.due})")
        if self.pull_url is not None and self.secret_ref is None:
            raise ValueError("a pull_url needs a secret_ref: the pull and the answer are signed")
        return self


class DeliveryDayRun(BaseModel):
    """Starts one day's expectation; without a day, the day the workflow starts on (Asia/Shanghai)."""

    delivery_code: Code
    day: date | None = None


class DeliveryPull(BaseModel):
    """One pull of a day's records from the deliverer's system."""

    delivery_code: Code
    day: date


class DeliveryPulled(BaseModel):
    """What the deliverer's system answered: the day's records, or nothing yet (HTTP 204)."""

    records: list[dict[str, JsonValue]] = Field(default_factory=list, max_length=10000)
    digest: str | None = None


class DeliveryDayPlan(BaseModel):
    """What the registry and the legal calendar say about one entry on one day."""

    entry: ScheduledDelivery
    day: date
    expected: bool
    why: str = Field(description="in words: a working day, a make-up working day, a statutory holiday…")
    due_at: AwareDatetime
    missing_at: AwareDatetime
    pull_at: AwareDatetime | None = None
    estimated: bool = Field(False, description="the calendar year had no official notice or override")
    missing_before: int = Field(
        0, ge=0, description="days of this entry already missing earlier in the same month (the ladder's count)"
    )


class DeliveryStatus(StrEnum):
    NOT_EXPECTED = "not_expected"
    EXPECTED = "expected"
    OVERDUE = "overdue"  # due time passed with nothing accepted; the deliverer holds a card
    DELIVERED = "delivered"
    MISSING = "missing"  # the day closed with nothing accepted


class DeliverCommand(BaseModel):
    """A delivery: the door sets the department from the credential and the digest from the records."""

    delivery_id: CommandId
    department: Code
    records: list[dict[str, JsonValue]] = Field(min_length=1, max_length=10000)
    digest: str = Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")


class RejectDeliveryCommand(BaseModel):
    """The receiver refuses a malformed delivery, with a reason; the expectation reopens."""

    rejection_id: CommandId
    department: Code
    reason: str = Field(min_length=1, max_length=2000)


class DeliveryRejectionRecord(BaseModel):
    rejection_id: str
    reason: str
    rejected_at: AwareDatetime


class DeliveryDayView(BaseModel):
    delivery_code: str
    day: date
    deliverer: str
    receiver: str
    status: DeliveryStatus
    why: str
    due_at: AwareDatetime
    missing_at: AwareDatetime
    delivered_at: AwareDatetime | None = None
    late: bool = False
    records: int = 0
    digest: str | None = None
    rejections: list[DeliveryRejectionRecord] = Field(default_factory=list)
    cards: list[IssuedCard] = Field(default_factory=list)
    ladder: list[LadderRung] = Field(
        default_factory=list, description="the ladder's rungs the deliverer reached on this day, after the card"
    )
    orders: list[LadderOrder] = Field(
        default_factory=list, description="the supervision order a missing day issued the deliverer, and its answer"
    )
    version: int = 0


class DeliveryDaySnapshot(BaseModel):
    """The store write of one transition."""

    view: DeliveryDayView
    written_at: AwareDatetime


class DeliveryOpening(BaseModel):
    """The daily schedule's run: opens today's expectation for every active entry."""

    day: date | None = None


class DeliveryOpened(BaseModel):
    day: date
    started: list[str] = Field(default_factory=list, description="workflow ids started (or already running)")


class DeliveryPost(BaseModel):
    """A delivery as the deliverer posts it to the front door."""

    records: list[dict[str, JsonValue]] = Field(min_length=1, max_length=10000)


class DeliveryRejectionPost(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+$")
