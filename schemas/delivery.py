"""Pushes to department systems and what came of them: webhook delivery, the store-and-forward inbox, SMS."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, JsonValue

from schemas.text import STORED_JSON

# Printable ASCII without spaces: the push id travels as an HTTP header (Idempotency-Key).
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]+$"


class PushKind(StrEnum):
    """What a push tells the department; receivers dispatch on it."""

    CASE_ASSIGNMENT = "case_assignment"
    REMINDER = "reminder"
    CARD = "card"
    SUPERVISION_ORDER = "supervision_order"
    CIRCULAR = "circular"
    CLOSURE_REVIEW = "closure_review"
    JOINT_MEETING = "joint_meeting"  # a case reported to the city leaders' joint meeting, or its outcome
    HANDOFF_PUSH = "handoff_push"
    HANDOFF_FEEDBACK = "handoff_feedback"
    LOOP_CLOSED = "loop_closed"
    CHANNEL_UPDATE = "channel_update"  # to an intake channel's system: an event its requester hears of
    SCHEDULED_DELIVERY = "scheduled_delivery"
    DELIVERY_REJECTED = "delivery_rejected"
    JOINT_STEP = "joint_step"  # a "one thing" step for the department's system to do, then complete at the door


class Push(BaseModel):
    """One message to one department; the same push_id is the same push, however often it is sent."""

    push_id: str = Field(
        min_length=1,
        max_length=200,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="the idempotency key, e.g. matter code + case number + direction + version",
    )
    department_code: str = Field(min_length=1, max_length=64)
    kind: PushKind
    subject_id: str = Field(min_length=1, max_length=200, description="the case, hand-off or order it is about")
    issued_at: AwareDatetime = Field(description="when the workflow issued it (workflow time)")
    # Scrubbed, not refused: the inbox stores it, and a case or hand-off that took a control character before the
    # door refused them must still deliver.
    body: Annotated[dict[str, JsonValue], STORED_JSON] = Field(
        default_factory=dict, description="the package, as the push kind defines it"
    )

    @classmethod
    def about(
        cls,
        subject_id: str,
        identity: Mapping[str, JsonValue],
        *,
        push_id: str,
        department: str,
        kind: PushKind,
        at: datetime,
        body: Mapping[str, JsonValue],
    ) -> Push:
        """A push about one case or hand-off, from either loop alike: its body starts with the subject's `identity`
        (the ids the department files it by), then what the push kind defines."""
        return cls(
            push_id=push_id,
            department_code=department,
            kind=kind,
            subject_id=subject_id,
            issued_at=at,
            body={**identity, **body},
        )


class DeliveryOutcome(StrEnum):
    DELIVERED = "delivered"
    INBOXED = "inboxed"


class DeliveryResult(BaseModel):
    push_id: str
    department_code: str
    outcome: DeliveryOutcome
    attempts: int = Field(ge=1, description="activity attempts it took, this one included")
    status_code: int | None = Field(None, description="the department's HTTP status; None for the inbox")


class DeliveryRejection(BaseModel):
    """Details of a DeliveryRejected error: what the department answered, so an operator can fix the cause."""

    push_id: str
    department_code: str
    status_code: int
    body: str = Field(description="the response body, truncated")


class InboxQuery(BaseModel):
    department_code: str = Field(min_length=1, max_length=64)
    include_acknowledged: bool = False
    limit: int = Field(100, ge=1, le=1000)


class InboxItem(BaseModel):
    item_id: int
    push_id: str
    department_code: str
    kind: PushKind
    subject_id: str
    issued_at: AwareDatetime
    received_at: AwareDatetime
    body: dict[str, JsonValue]
    acknowledged_at: AwareDatetime | None = None
    acknowledged_by: str | None = None


class InboxPage(BaseModel):
    department_code: str
    items: list[InboxItem]
    unacknowledged: int = Field(description="unacknowledged items in the inbox, beyond this page too")


class InboxAcknowledgement(BaseModel):
    item_id: int = Field(ge=1)
    acknowledged_by: str = Field(min_length=1, max_length=200, description="who read it: a person or a system")


class SmsNotification(BaseModel):
    """An SMS to a department's roster people; the workflow never carries phone numbers, the roster does."""

    notification_id: str = Field(min_length=1, max_length=200, pattern=IDEMPOTENCY_KEY_PATTERN)
    department_code: str = Field(min_length=1, max_length=64)
    matter_code: str | None = Field(None, max_length=64)
    template_id: str = Field(min_length=1, max_length=100)
    variables: dict[str, str] = Field(default_factory=dict, description="template variables: case no., deadline…")
    to_requester: bool = Field(
        False, description="to the requester of a channel case (the intake store holds the contact), not the roster"
    )


class SmsResult(BaseModel):
    notification_id: str
    provider: str
    recipients: int = Field(ge=1)
    roles: list[str] = Field(description="roster roles reached (liaison, backup); never names or numbers")


class DeliveryBatch(BaseModel):
    """The pushes and SMS of one transition, tried once each in one activity (`deliver_transition`)."""

    pushes: list[Push] = Field(default_factory=list)
    sms: list[SmsNotification] = Field(default_factory=list)


class BatchOutcome(StrEnum):
    DONE = "done"  # the push delivered or put in the inbox; the SMS sent
    REFUSED = "refused"  # refused for good (a rejection, an unknown department, no roster phone): never sent again
    RETRY = "retry"  # not out yet (a department down): sent on with the full retry policy


class BatchItem(BaseModel):
    outcome: BatchOutcome
    why: str | None = Field(None, description="what refused it, as the single activity's error would say")
    retry_after: timedelta | None = Field(None, description="the wait the department asked for (Retry-After)")


class DeliveryBatchResult(BaseModel):
    """How each of a batch fared on its one try, in the batch's order. By position, not by id: a run replayed
    under another workflow id (a test's) makes the same choices."""

    pushes: list[BatchItem] = Field(default_factory=list)
    sms: list[BatchItem] = Field(default_factory=list)
