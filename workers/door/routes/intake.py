"""Intake: one route per channel kind taking the channel's own record (alone or in a batch) and answering its case.

The channel is a registry entry; only the credential of its department may feed it (an operator, through a batch,
acting for that department with a reason). A repeated record answers the same case and starts nothing.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Path, Request, Response

from activities.metrics import INTAKE_RECORDS
from activities.store.intake import IntakeRepository
from activities.store.lookup_limits import LookupLimitRepository
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
    StatusAnswer,
    StatusQuery,
    WindowBatch,
    WindowRecord,
)
from services.intake.codes import verifies
from services.intake.taking import Intake, IntakeRefused, channel_for, take_in
from workers.door import access
from workers.door.deps import CallerDep, Door, DoorDep
from workers.door.problems import DoorProblem, Kind, from_engine

log = structlog.get_logger(__name__)
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
    except IntakeRefused as refused:
        raise _problem(refused) from None
    try:
        result = await take_in(intake, channel, record, credential=caller.credential_id, on_behalf_reason=None)
    except IntakeRefused as refused:
        _count(code, None)
        raise _problem(refused) from None
    except CommandError as error:
        raise from_engine(error, subject=f"channel {code}") from None
    _count(code, result)
    response.status_code = 201 if result.created else 200
    return result


def _count(channel: str, result: IntakeResult | None) -> None:
    """Counted once the channel is known to the registry, so a caller cannot mint label values."""
    if result is None:
        outcome = IntakeOutcome.REJECTED.value
    elif not result.created:
        outcome = IntakeOutcome.DUPLICATE.value
    else:
        outcome = IntakeOutcome.CREATED.value if result.placed else "unplaced"
    INTAKE_RECORDS.labels(channel=channel, outcome=outcome).inc()


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
            _count(code, None)
            continue
        except CommandError as error:
            engine = from_engine(error, subject=f"record {number}")
            problem = IntakeProblem(rule=engine.rule or "engine", field=f"records.{index}", detail=str(engine.detail))
            items.append(BatchItem(index=index, record_number=number, outcome=IntakeOutcome.REJECTED, problem=problem))
            continue
        _count(code, result)
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


async def admit_lookup(request: Request, parts: Door) -> str:
    """The client's address, once a public status lookup (a case's or a joint application's: one budget) is
    admitted under the per-minute limit, counted in the store so every door shares it; 429 with Retry-After
    otherwise."""
    address = request.client.host if request.client else "unknown"
    async with parts.sessions.begin() as session:
        wait = await LookupLimitRepository(session).admit(
            address, datetime.now(UTC), parts.settings.api_status_lookups_per_minute
        )
    if wait is not None:
        raise DoorProblem(
            Kind.TOO_MANY_REQUESTS,
            f"at most {parts.settings.api_status_lookups_per_minute} lookups a minute",
            rule="status.rate",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return address


status_router = APIRouter(tags=["status"])


@status_router.post("/v1/status", response_model=StatusAnswer, summary="A requester's status lookup (public)")
async def status(parts: DoorDep, request: Request, body: StatusQuery) -> StatusAnswer:
    """The stage, the committed deadline and the last progress line of a channel case, for the case id and the
    verification code its requester was given; nothing else. No credential: rate-limited per client address
    across every door (the count is in the store), and a wrong code is answered as an unknown case."""
    address = await admit_lookup(request, parts)
    async with parts.sessions() as session:
        row = await IntakeRepository(session).record_of_case(body.case_id)
    if row is None or not verifies(row.verification_code, body.code):
        log.warning("status lookup refused", case_id=body.case_id, address=address)
        raise DoorProblem(Kind.NOT_FOUND, "no case with this number and verification code", rule="status.code")
    view = await parts.ask(
        f"case {body.case_id}", parts.engine.case_by_id(body.case_id).state(within=parts.options.command_seconds)
    )
    return StatusAnswer(
        case_id=body.case_id,
        stage=view.stage.value,
        committed_deadline=view.committed_due_at,
        last_progress=row.last_progress,
    )
