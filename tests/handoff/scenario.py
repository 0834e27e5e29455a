"""Hand-off test scenarios: events as department systems report them, and commands as departments send them."""

from __future__ import annotations

import uuid
from datetime import datetime

from schemas.handoff import (
    Acknowledge,
    Actor,
    Claim,
    Finding,
    FindingKind,
    Reroute,
    ReturnPush,
    Role,
    SendFeedback,
    SourceEvent,
    StartActing,
    Terminate,
)
from schemas.registry import TriggerEvent
from tests.handoff.conftest import APPROVAL_BUREAU, COORDINATOR


def closed_approval(
    item: str | None, reference: str | None = None, at: datetime | None = None, **changes: object
) -> SourceEvent:
    """The approval bureau closed an approval case of `item` (辦結)."""
    values: dict[str, object] = {
        "source_department": APPROVAL_BUREAU,
        "reference": reference or f"SQ-SP-{uuid.uuid4().hex[:10]}",
        "event": TriggerEvent.CASE_CLOSED,
        "item_code": item,
        "occurred_at": at or datetime.now().astimezone(),
        "decision": "grant",
        "package": {"licence_no": "JY13213000000001", "entity": "宿遷示例餐飲有限公司", "address": "示例路1號"},
    }
    values.update(changes)
    return SourceEvent.model_validate(values)


def receiver(code: str) -> Actor:
    return Actor(department=code, role=Role.RECEIVER)


def originator(code: str = APPROVAL_BUREAU) -> Actor:
    return Actor(department=code, role=Role.ORIGINATOR)


def coordinator() -> Actor:
    return Actor(department=COORDINATOR, role=Role.COORDINATOR)


def claim(by: str) -> Claim:
    return Claim(actor=receiver(by))


def act(by: str) -> StartActing:
    return StartActing(actor=receiver(by), measure="on-site inspection of the pledge")


def feedback(by: str, *findings: Finding) -> SendFeedback:
    return SendFeedback(
        actor=receiver(by),
        result="pledge verified on site" if not findings else "pledge found false on site",
        findings=list(findings),
    )


def penalty(decided_at: datetime, reference: str | None = None) -> Finding:
    return Finding(
        kind=FindingKind.PENALTY,
        reference=reference or f"宿市監罰〔{uuid.uuid4().hex[:6]}〕號",
        decided_at=decided_at,
        summary="fine for operating beyond the licensed scope",
    )


def acknowledge(by: str = APPROVAL_BUREAU) -> Acknowledge:
    return Acknowledge(actor=originator(by), remark="noted; credit record updated")


def give_back(by: str) -> ReturnPush:
    return ReturnPush(
        actor=receiver(by),
        reason="this item is not on our supervision catalogue",
        legal_basis="三定方案 第三條",
    )


def reroute(to: str | None = None) -> Reroute:
    return Reroute(actor=coordinator(), department_code=to, reason="misrouted push")


def withdraw(reason: str = "the applicant withdrew the application") -> Terminate:
    return Terminate(actor=originator(), reason=reason)
