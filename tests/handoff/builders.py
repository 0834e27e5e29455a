"""Hand-off test data: matters, events and starts as the registry and departments would give them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from schemas.handoff import Actor, HandoffStart, Role, SourceEvent, handoff_id
from schemas.registry import (
    ClaimMode,
    HandoffDirection,
    Limit,
    LimitUnit,
    MatterInfo,
    MatterKind,
    MatterStep,
    TriggerEvent,
)

APPROVAL_BUREAU = "SQ-XZSPJ"
MARKET_REGULATOR = "SQ-SCJGJ"
HEALTH_COMMISSION = "SQ-WJW"
FOOD_LICENCE = "FOOD-LICENCE"
FOOD_SUPERVISION = "FOOD-SUPERVISION"


def working_days(amount: int) -> Limit:
    return Limit(amount=Decimal(amount), unit=LimitUnit.WORKING_DAYS)


def a_matter(
    code: str = "M-FOOD-A2S",
    claim_mode: ClaimMode = ClaimMode.EXPLICIT,
    direction: HandoffDirection = HandoffDirection.APPROVAL_TO_SUPERVISION,
    limits: dict[MatterStep, Limit] | None = None,
) -> MatterInfo:
    return MatterInfo(
        code=code,
        name="food business licence → food safety supervision",
        kind=MatterKind.APPROVAL_SUPERVISION,
        direction=direction,
        theme="food",
        trigger=TriggerEvent.CASE_CLOSED,
        trigger_item=FOOD_LICENCE,
        target_item=FOOD_SUPERVISION,
        claim_mode=claim_mode,
        card_profile="default",
        limits=limits
        if limits is not None
        else {MatterStep.CLAIM: working_days(2), MatterStep.FEEDBACK: working_days(3)},
        statutory_limit=None,
        extension_cap=None,
        max_extensions=0,
        initiators=[APPROVAL_BUREAU],
        lead=None,
        collaborators=[],
        active=True,
    )


def an_event(reference: str = "SQ-2025-0001", **changes: object) -> SourceEvent:
    values: dict[str, object] = {
        "source_department": APPROVAL_BUREAU,
        "reference": reference,
        "event": TriggerEvent.CASE_CLOSED,
        "item_code": FOOD_LICENCE,
        "locality_code": None,
        "occurred_at": datetime(2025, 3, 3, 10, 0, tzinfo=UTC),
        "decision": "grant",
        "package": {"licence_no": "JY13213000000001", "entity": "宿遷某餐飲有限公司"},
    }
    values.update(changes)
    return SourceEvent.model_validate(values)


def a_start(
    matter: MatterInfo | None = None,
    event: SourceEvent | None = None,
    receiver: str | None = MARKET_REGULATOR,
    coordinator: str | None = None,
) -> HandoffStart:
    """A start as admission makes it; `coordinator` None as for hand-offs admitted before it was kept."""
    matter = matter or a_matter()
    event = event or an_event()
    assert matter.direction is not None
    identifier = handoff_id(matter.code, event.source_department, event.reference, matter.direction)
    return HandoffStart(
        handoff_id=identifier,
        thread_id=identifier,
        matter=matter,
        direction=matter.direction,
        event=event,
        receiver_code=receiver,
        routed_by_function=True,
        created_at=datetime(2025, 3, 3, 10, 5, tzinfo=UTC),
        end_to_end_due_at=datetime(2025, 3, 6, 9, 30, tzinfo=UTC),
        coordinator_code=coordinator,
    )


def receiver(code: str = MARKET_REGULATOR) -> Actor:
    return Actor(department=code, role=Role.RECEIVER)


def originator(code: str = APPROVAL_BUREAU) -> Actor:
    return Actor(department=code, role=Role.ORIGINATOR)


COORDINATION_CENTRE = "SQ-XTZX"


def coordinator(code: str = COORDINATION_CENTRE) -> Actor:
    return Actor(department=code, role=Role.COORDINATOR)
