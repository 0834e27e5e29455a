"""What the front door's intake routes take and answer: each channel's own record, alone or in a batch.

Every body refuses unknown fields and bounds every field. The channel's system is the credential's department:
nothing in a body names who sends it. A record becomes a case under its channel's record number, so sending it
again answers the same case and starts nothing.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from schemas.api import Forbidding, OnBehalf
from schemas.intake import ChannelKind
from schemas.ledger import RatingLevel
from schemas.text import FREE_TEXT, IDENTIFIER, Code

# A channel's own record number: with the channel's code it makes the case number (`<channel>.<record>`), which is
# at most 64 characters; a channel code of up to 15 leaves 48 for the record.
RecordNumber = Annotated[str, Field(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9._-]+$"), IDENTIFIER]
# A key of a channel's mapping table: a category, area, hall or item code as the channel writes it.
MappingKey = Annotated[str, Field(min_length=1, max_length=100), FREE_TEXT]
Line = Annotated[str, Field(min_length=1, max_length=500), FREE_TEXT]
Text = Annotated[str, Field(min_length=1, max_length=4000), FREE_TEXT]
Mobile = Annotated[
    str, Field(pattern=r"^1[3-9][0-9]{9}$", description="a mainland mobile number, 11 digits"), IDENTIFIER
]
UserId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:@-]+$"), IDENTIFIER]

BATCH_RECORDS = 1000


class RequesterContact(Forbidding):
    """Who raised it, if they agreed to hear back: a mobile number or the platform's user id, never both."""

    mobile: Mobile | None = None
    user_id: UserId | None = Field(None, description="the channel platform's own user id (e.g. the 12345 app)")
    consent: bool = Field(description="the requester agreed to be told of the case's progress; required true")
    consent_at: AwareDatetime | None = Field(None, description="when they agreed; defaults to the receipt")

    @model_validator(mode="after")
    def _one_contact(self) -> RequesterContact:
        if (self.mobile is None) == (self.user_id is None):
            raise ValueError("give exactly one of mobile and user_id")
        if not self.consent:
            raise ValueError("consent must be true: a contact is kept only with the requester's consent")
        return self


class ChannelRecord(Forbidding):
    """What every channel's record carries besides its own fields. An operator takes records in for a channel's
    department through the batch routes, which carry `on_behalf_of` once for the batch."""

    received_at: AwareDatetime | None = Field(None, description="when the channel received it; clocks start here")
    requester: RequesterContact | None = None


class HotlineWorkOrder(ChannelRecord):
    """A 12345 work order: its category maps to a matter, its area code (else its address) to a locality."""

    work_order_number: RecordNumber
    category: MappingKey
    area_code: MappingKey | None = Field(None, description="the administrative area code on the work order")
    address: Line | None = None
    content: Text
    hotline_deadline: AwareDatetime | None = Field(None, description="the hotline's own deadline for the order")


class BadRating(ChannelRecord):
    """A bad or very bad 好差評 rating: a rectification case for the rated department."""

    rating_id: RecordNumber
    level: RatingLevel = Field(description="only dissatisfied and very_dissatisfied open a case")
    service_item: MappingKey = Field(description="the rated service item, e.g. SP-GGCSWS")
    department: Code = Field(description="the rated department: a party to the rectification case")
    area_code: MappingKey | None = None
    comment: Text | None = None


class HourClass(StrEnum):
    """The window's immediate items (即辦件): handled within this many office hours."""

    HALF = "0.5"
    ONE = "1"
    THREE = "3"


class WindowRecord(ChannelRecord):
    """A record from the 不好辦 window: what the person tried to do, where it failed, who recorded it."""

    record_number: RecordNumber
    hall: MappingKey = Field(description="the service hall (its code maps to the locality)")
    attempted: Text = Field(description="what the person tried to do")
    failed_at: Line = Field(description="where it failed")
    recorded_by: Annotated[str, Field(min_length=1, max_length=100), FREE_TEXT] = Field(
        description="the window officer who recorded it"
    )
    hour_class: HourClass


class PrepaidClaimKind(StrEnum):
    COMPLAINT = "complaint"
    CLAIM = "claim"  # 一鍵維權


class PrepaidCardComplaint(ChannelRecord):
    """A prepaid-card complaint or one-click claim against a merchant: a matter for the market regulator."""

    complaint_number: RecordNumber
    kind: PrepaidClaimKind
    merchant: Line
    merchant_area_code: MappingKey | None = None
    merchant_address: Line | None = None
    card_number: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$"), IDENTIFIER] | None = (
        None
    )
    amount: Decimal = Field(ge=0, le=Decimal("100000000"), max_digits=12, decimal_places=2)
    claim: Text


class IntakeOutcome(StrEnum):
    CREATED = "created"  # a case was launched
    DUPLICATE = "duplicate"  # the record was taken in before: its case, nothing started
    REJECTED = "rejected"  # nothing was taken in; `problem` says why


class IntakeResult(BaseModel):
    channel: str
    record_number: str
    case_id: str
    created: bool = Field(description="false: the record was taken in before; nothing was started")
    placed: bool = Field(description="false: the mapping failed; the coordinator places the case by hand")
    unplaced_reason: str | None = None
    matter_code: str
    locality_code: str
    verification_code: str = Field(description="give it to the requester: with the case id it opens the status")


class IntakeProblem(BaseModel):
    rule: str
    field: str | None
    detail: str


class BatchItem(BaseModel):
    index: int
    record_number: str | None
    outcome: IntakeOutcome
    result: IntakeResult | None = None
    problem: IntakeProblem | None = None


class BatchAnswer(BaseModel):
    channel: str
    created: int
    duplicate: int
    rejected: int
    items: list[BatchItem]


class HotlineBatch(OnBehalf):
    records: list[HotlineWorkOrder] = Field(min_length=1, max_length=BATCH_RECORDS)


class RatingBatch(OnBehalf):
    records: list[BadRating] = Field(min_length=1, max_length=BATCH_RECORDS)


class WindowBatch(OnBehalf):
    records: list[WindowRecord] = Field(min_length=1, max_length=BATCH_RECORDS)


class PrepaidCardBatch(OnBehalf):
    records: list[PrepaidCardComplaint] = Field(min_length=1, max_length=BATCH_RECORDS)


class StatusAnswer(BaseModel):
    """What the public status lookup answers, and nothing else: no names, no departments, no internal notes."""

    case_id: str
    stage: str
    committed_deadline: AwareDatetime | None
    last_progress: str | None


class StatusQuery(Forbidding):
    case_id: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._~-]+$"), IDENTIFIER]
    code: Annotated[str, Field(min_length=4, max_length=16, pattern=r"^[A-Za-z0-9]+$"), IDENTIFIER]


# Each kind's route under `/v1/intake/{channel}/` (a batch: `…/batch`), its record and its batch body: one table the
# door's routes and the SDK share.
ROUTE_OF_KIND: dict[ChannelKind, str] = {
    ChannelKind.HOTLINE: "work-orders",
    ChannelKind.RATING: "ratings",
    ChannelKind.WINDOW: "window-records",
    ChannelKind.PREPAID_CARD: "prepaid-card-complaints",
}
RECORD_OF_KIND: dict[ChannelKind, type[ChannelRecord]] = {
    ChannelKind.HOTLINE: HotlineWorkOrder,
    ChannelKind.RATING: BadRating,
    ChannelKind.WINDOW: WindowRecord,
    ChannelKind.PREPAID_CARD: PrepaidCardComplaint,
}
BATCH_OF_KIND: dict[ChannelKind, type[OnBehalf]] = {
    ChannelKind.HOTLINE: HotlineBatch,
    ChannelKind.RATING: RatingBatch,
    ChannelKind.WINDOW: WindowBatch,
    ChannelKind.PREPAID_CARD: PrepaidCardBatch,
}
