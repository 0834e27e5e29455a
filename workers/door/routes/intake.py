"""Intake: one route per channel kind taking the channel's own record (alone or in a batch) and answering its case.

The channel is a registry entry; only the credential of its department may feed it (an operator, through a batch,
acting for that department with a reason). A repeated record answers the same case and starts nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from caseloop.errors import CommandError
from schemas.access import Caller
from schemas.api import OnBehalf
from schemas.intake import ChannelKind
from schemas.intake_api import (
    BadRating,
    BatchAnswer,
    BatchItem,
    ChannelRecord,
    HotlineBatch,
    HotlineWorkOrder,
    IntakeOutcome,
    IntakeProblem,
    IntakeResult,
    PrepaidCardBatch,
    PrepaidCardComplaint,
    RatingBatch,
    WindowBatch,
    WindowRecord,
)
from services.intake.taking import Intake, IntakeRefused, channel_for, take_in
from workers.door import access
from workers.door.deps import CallerDep, Door, DoorDep
from workers.door.problems import DoorProblem, Kind, from_engine

router = APIRouter(prefix="/v1/intake", tags=["intake"])

ChannelCode = Annotated[
    str, Path(min_length=1, max_length=15, pattern=r"^[A-Za-z0-9._-]+$", description="the channel's registry code")
]
CREATED: dict[int | str, dict[str, Any]] = {
    200: {"model": IntakeResult, "description": "the record was taken in before; nothing was started"}
}
_KINDS = {Kind.FORBIDDEN.status: Kind.FORBIDDEN, Kind.NOT_FOUND.status: Kind.NOT_FOUND}


def _intake(parts: Door) -> Intake:
    return Intake(
        sessions=parts.sessions,
        engine=parts.engine,
        within=parts.options.command_seconds,
    )


def _problem(refused: IntakeRefused, within: str = "") -> DoorProblem:
    field = f"{within}{refused.field}" if refused.field and refused.field != "channel" else refused.field
    return DoorProblem(_KINDS.get(refused.status, Kind.RULE_REFUSED), refused.detail, rule=refused.rule, field=field)


async def _one(
    parts: Door, caller: Caller, kind: ChannelKind, code: str, record: ChannelRecord, response: Response
) -> IntakeResult:
    intake = _intake(parts)
    try:
        channel = await channel_for(intake, kind, code, caller.department)
        result = await take_in(intake, channel, record, credential=caller.credential_id, on_behalf_reason=None)
    except IntakeRefused as refused:
        raise _problem(refused) from None
    except CommandError as error:
        raise from_engine(error, subject=f"channel {code}") from None
    response.status_code = 201 if result.created else 200
    return result


async def _batch(
    parts: Door, caller: Caller, kind: ChannelKind, code: str, body: OnBehalf, records: list[ChannelRecord]
) -> BatchAnswer:
    """Each record its own outcome; a refused record stops none of the others."""
    department, reason = access.acting_department(caller, body, field="department")
    intake = _intake(parts)
    try:
        channel = await channel_for(intake, kind, code, department)
    except IntakeRefused as refused:
        raise _problem(refused) from None
    items: list[BatchItem] = []
    for index, record in enumerate(records):
        number = _record_number(record)
        try:
            result = await take_in(intake, channel, record, credential=caller.credential_id, on_behalf_reason=reason)
        except IntakeRefused as refused:
            field = f"records.{index}.{refused.field}" if refused.field else f"records.{index}"
            problem = IntakeProblem(rule=refused.rule, field=field, detail=refused.detail)
            items.append(BatchItem(index=index, record_number=number, outcome=IntakeOutcome.REJECTED, problem=problem))
            continue
        except CommandError as error:
            engine = from_engine(error, subject=f"record {number}")
            problem = IntakeProblem(rule=engine.rule or "engine", field=f"records.{index}", detail=str(engine.detail))
            items.append(BatchItem(index=index, record_number=number, outcome=IntakeOutcome.REJECTED, problem=problem))
            continue
        outcome = IntakeOutcome.CREATED if result.created else IntakeOutcome.DUPLICATE
        items.append(BatchItem(index=index, record_number=number, outcome=outcome, result=result))
    return BatchAnswer(
        channel=code,
        created=sum(item.outcome is IntakeOutcome.CREATED for item in items),
        duplicate=sum(item.outcome is IntakeOutcome.DUPLICATE for item in items),
        rejected=sum(item.outcome is IntakeOutcome.REJECTED for item in items),
        items=items,
    )


def _record_number(record: ChannelRecord) -> str:
    for name in ("work_order_number", "rating_id", "record_number", "complaint_number"):
        if hasattr(record, name):
            return str(getattr(record, name))
    return ""


@router.post("/{channel}/work-orders", response_model=IntakeResult, status_code=201, responses=CREATED)
async def work_order(
    parts: DoorDep, caller: CallerDep, channel: ChannelCode, body: HotlineWorkOrder, response: Response
) -> IntakeResult:
    """A 12345 work order: its category maps to a matter, its area code (else its address) to a locality."""
    return await _one(parts, caller, ChannelKind.HOTLINE, channel, body, response)


@router.post("/{channel}/ratings", response_model=IntakeResult, status_code=201, responses=CREATED)
async def bad_rating(
    parts: DoorDep, caller: CallerDep, channel: ChannelCode, body: BadRating, response: Response
) -> IntakeResult:
    """A bad or very bad 好差評 rating: a rectification case, with the rated department as a party."""
    return await _one(parts, caller, ChannelKind.RATING, channel, body, response)


@router.post("/{channel}/window-records", response_model=IntakeResult, status_code=201, responses=CREATED)
async def window_record(
    parts: DoorDep, caller: CallerDep, channel: ChannelCode, body: WindowRecord, response: Response
) -> IntakeResult:
    """A 不好辦 window record: its hour class (0.5, 1 or 3 office hours) maps to the matter whose limits it runs on."""
    return await _one(parts, caller, ChannelKind.WINDOW, channel, body, response)


@router.post("/{channel}/prepaid-card-complaints", response_model=IntakeResult, status_code=201, responses=CREATED)
async def prepaid_card_complaint(
    parts: DoorDep, caller: CallerDep, channel: ChannelCode, body: PrepaidCardComplaint, response: Response
) -> IntakeResult:
    """A prepaid-card complaint or one-click claim: a matter for the market regulator, in the merchant's locality."""
    return await _one(parts, caller, ChannelKind.PREPAID_CARD, channel, body, response)


@router.post("/{channel}/work-orders/batch", response_model=BatchAnswer)
async def work_order_batch(parts: DoorDep, caller: CallerDep, channel: ChannelCode, body: HotlineBatch) -> BatchAnswer:
    return await _batch(parts, caller, ChannelKind.HOTLINE, channel, body, list(body.records))


@router.post("/{channel}/ratings/batch", response_model=BatchAnswer)
async def rating_batch(parts: DoorDep, caller: CallerDep, channel: ChannelCode, body: RatingBatch) -> BatchAnswer:
    return await _batch(parts, caller, ChannelKind.RATING, channel, body, list(body.records))


@router.post("/{channel}/window-records/batch", response_model=BatchAnswer)
async def window_batch(parts: DoorDep, caller: CallerDep, channel: ChannelCode, body: WindowBatch) -> BatchAnswer:
    return await _batch(parts, caller, ChannelKind.WINDOW, channel, body, list(body.records))


@router.post("/{channel}/prepaid-card-complaints/batch", response_model=BatchAnswer)
async def prepaid_card_batch(
    parts: DoorDep, caller: CallerDep, channel: ChannelCode, body: PrepaidCardBatch
) -> BatchAnswer:
    return await _batch(parts, caller, ChannelKind.PREPAID_CARD, channel, body, list(body.records))
