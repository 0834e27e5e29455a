"""Scheduled deliveries: the deliverer posts a day's delivery, the receiver may reject it with a reason, and both
read the day. Who is who comes from the registry entry and the credential, never from the body."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date
from typing import Annotated

import structlog
from fastapi import APIRouter, Path
from temporalio.service import RPCError, RPCStatusCode

from activities.store.collaboration import CollaborationRepository, ScheduledDeliveryRow
from schemas.names import ANSWER_LADDER_ORDER, DELIVERY_DELIVER, DELIVERY_REJECT, DELIVERY_VIEW
from schemas.orders import AnswerLadderOrder, OrderAnswerPost
from schemas.scheduled import (
    RULE_DELIVERER,
    RULE_RECEIVER,
    RULE_STATUS,
    DeliverCommand,
    DeliveryDayView,
    DeliveryPost,
    DeliveryRejectionPost,
    RejectDeliveryCommand,
)
from workers.door.deps import CallerDep, Door, DoorDep, KeyDep
from workers.door.problems import DoorProblem, Kind, forbidden, not_found
from workers.door.updates import send_update
from workflows.delivery.rules import day_id

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"])

DeliveryCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


async def _entry(parts: Door, code: str) -> ScheduledDeliveryRow:
    async with parts.sessions() as session:
        entry = await CollaborationRepository(session).scheduled_delivery(code)
    if entry is None:
        raise not_found(f"scheduled delivery {code}")
    return entry


async def _send(parts: Door, code: str, day: date, update: str, command: object, key: str) -> DeliveryDayView:
    handle = parts.engine.temporal.get_workflow_handle(day_id(code, day), result_type=DeliveryDayView)
    return await send_update(
        handle,
        update,
        command,
        DeliveryDayView,
        command_id=key,
        closed=DoorProblem(Kind.RULE_REFUSED, "it has closed; nothing more is taken", rule=RULE_STATUS),
        missing=not_found(f"the {day} expectation of {code} (it is opened on the day)"),
    )


@router.post("/{code}/{day}", response_model=DeliveryDayView, summary="Deliver a day's scheduled delivery")
async def deliver(
    parts: DoorDep, caller: CallerDep, key: KeyDep, code: DeliveryCode, day: date, body: DeliveryPost
) -> DeliveryDayView:
    """The deliverer's records for the day; after the due time they are accepted and counted late, with a card."""
    entry = await _entry(parts, code)
    if caller.department != entry.deliverer:
        raise forbidden(f"only {entry.deliverer} delivers {code}", rule=RULE_DELIVERER, field="department")
    digest = hashlib.sha256(json.dumps(body.records, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    command_id = key or uuid.uuid4().hex
    command = DeliverCommand(delivery_id=command_id, department=caller.department, records=body.records, digest=digest)
    return await _send(parts, code, day, DELIVERY_DELIVER, command, command_id)


@router.post(
    "/{code}/{day}/rejections", response_model=DeliveryDayView, summary="Reject a malformed delivery, with a reason"
)
async def reject(
    parts: DoorDep, caller: CallerDep, key: KeyDep, code: DeliveryCode, day: date, body: DeliveryRejectionPost
) -> DeliveryDayView:
    """The receiver refuses the day's delivery; the expectation reopens for the deliverer."""
    entry = await _entry(parts, code)
    if caller.department != entry.receiver:
        raise forbidden(f"only {entry.receiver} rejects deliveries of {code}", rule=RULE_RECEIVER, field="department")
    command_id = key or uuid.uuid4().hex
    command = RejectDeliveryCommand(rejection_id=command_id, department=caller.department, reason=body.reason)
    return await _send(parts, code, day, DELIVERY_REJECT, command, command_id)


@router.post(
    "/{code}/{day}/answer-supervision-order",
    response_model=DeliveryDayView,
    summary="Answer the supervision order a missing day issued",
)
async def answer_supervision_order(
    parts: DoorDep, caller: CallerDep, key: KeyDep, code: DeliveryCode, day: date, body: OrderAnswerPost
) -> DeliveryDayView:
    """The deliverer answers the order, as a case's party answers `answer-supervision-order`; only the department
    the order is addressed to (from the credential) may."""
    entry = await _entry(parts, code)
    if caller.department != entry.deliverer:
        raise forbidden(f"only {entry.deliverer} answers {code}'s orders", rule=RULE_DELIVERER, field="department")
    command_id = key or uuid.uuid4().hex
    command = AnswerLadderOrder(
        command_id=command_id, department=caller.department, order_id=body.order_id, answer=body.answer
    )
    return await _send(parts, code, day, ANSWER_LADDER_ORDER, command, command_id)


@router.get("/{code}/{day}", response_model=DeliveryDayView, summary="Read a day of a scheduled delivery")
async def read_day(parts: DoorDep, caller: CallerDep, code: DeliveryCode, day: date) -> DeliveryDayView:
    """The day as its workflow has it; for the deliverer and the receiver only."""
    entry = await _entry(parts, code)
    if caller.department not in (entry.deliverer, entry.receiver):
        raise not_found(f"scheduled delivery {code}")
    handle = parts.engine.temporal.get_workflow_handle(day_id(code, day))
    try:
        view = await handle.query(DELIVERY_VIEW, result_type=DeliveryDayView)
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            raise not_found(f"the {day} expectation of {code}") from None
        raise DoorProblem(Kind.UNAVAILABLE) from None
    if view is None:
        raise not_found(f"the {day} expectation of {code}")
    return view
