"""Hand-offs: report an event or a batch, withdraw, view, list and count, and one route per command."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import AwareDatetime, ValidationError

from caseloop.direct.handoffs import COMMANDS
from schemas import handoff as h
from schemas.api import (
    HANDOFF_COMMAND_BODIES,
    BatchRequest,
    Count,
    EventRequest,
    HandoffPage,
    ReportedEvent,
    WithdrawalRequest,
)
from schemas.case.commands import Code
from schemas.registry import HandoffDirection
from workers.door import access
from workers.door.commands import add_command_route, handoff_command, handoff_coordinator_of
from workers.door.deps import CallerDep, DoorDep
from workers.door.problems import DoorProblem, Kind, not_found

router = APIRouter(tags=["hand-offs"])

HandoffId = Annotated[
    str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._~-]+$", description="as report_event answers it")
]
Limit = Annotated[int, Query(ge=1, le=1000, description="at most this many, newest first")]
# The engine's method of each verb.
ENGINE_NAMES = {
    verb: next(n for n, (_u, m) in COMMANDS.items() if m is h.HANDOFF_COMMANDS[verb]) for verb in h.HANDOFF_COMMANDS
}


async def handoff_filters(
    stage: Annotated[list[h.HandoffStage] | None, Query(max_length=20)] = None,
    colour: Annotated[list[h.SlaColour] | None, Query(max_length=10)] = None,
    receiver: Annotated[list[Code] | None, Query(max_length=50, description="the department the push went to")] = None,
    locality: Annotated[list[Code] | None, Query(max_length=50)] = None,
    matter: Annotated[list[Code] | None, Query(max_length=50)] = None,
    direction: Annotated[list[HandoffDirection] | None, Query(max_length=10)] = None,
    overdue: bool | None = None,
    due_before: AwareDatetime | None = None,
    running: bool | None = None,
) -> dict[str, Any]:
    return {
        "stage": stage,
        "colour": colour,
        "receiver": receiver,
        "locality": locality,
        "matter": matter,
        "direction": direction,
        "overdue": overdue,
        "due_before": due_before,
        "running": running,
    }


Filters = Annotated[dict[str, Any], Depends(handoff_filters)]


def _event(reporter: h.Actor, body: ReportedEvent, within: str = "") -> h.SourceEvent:
    """The event of the reporting department (always the credential's, or an operator's `on_behalf_of`); `within`
    prefixes the field a refusal names, e.g. `events.3.`."""
    fields = {name: getattr(body, name) for name in ReportedEvent.model_fields}
    try:
        return h.SourceEvent(**fields, source_department=reporter.department, reported_by=reporter)
    except ValidationError as error:
        first = error.errors()[0]
        field = within + ".".join(str(part) for part in first["loc"]) if first["loc"] else None
        raise DoorProblem(Kind.INVALID_REQUEST, str(first["msg"]), rule=first["type"], field=field) from None


@router.post("/v1/events", response_model=h.EventReport, summary="Report an event")
async def report_event(parts: DoorDep, caller: CallerDep, body: EventRequest) -> h.EventReport:
    """Reports an event of the caller's department and starts the hand-offs its matters call for; reporting it
    again starts nothing and answers `duplicate`."""
    event = _event(access.reporter(caller, body), body)
    return await parts.ask(
        f"event {event.reference}", parts.engine.report_event(event, within=parts.options.command_seconds)
    )


@router.post("/v1/event-batches", response_model=h.BatchReport, summary="Report a batch of events")
async def report_events(parts: DoorDep, caller: CallerDep, body: BatchRequest) -> h.BatchReport:
    reporter = access.reporter(caller, body)
    events = [_event(reporter, event, f"events.{index}.") for index, event in enumerate(body.events)]
    batch = h.EventBatch(batch_id=body.batch_id, events=events)
    return await parts.ask(
        f"batch {body.batch_id}", parts.engine.report_events(batch, within=parts.options.command_seconds)
    )


@router.post("/v1/withdrawals", response_model=h.WithdrawalReport, summary="Withdraw a source case")
async def withdraw(parts: DoorDep, caller: CallerDep, body: WithdrawalRequest) -> h.WithdrawalReport:
    """The caller's source case was withdrawn: every open hand-off its event started is terminated."""
    reporter = access.reporter(caller, body)
    withdrawal = h.SourceWithdrawal(
        event=body.event,
        reference=body.reference,
        reason=body.reason,
        source_department=reporter.department,
        reported_by=reporter,
    )
    return await parts.ask(
        f"withdrawal of {body.reference}",
        parts.engine.withdraw_source(withdrawal, within=parts.options.command_seconds),
    )


@router.get("/v1/handoffs", response_model=HandoffPage, summary="List hand-offs")
async def list_handoffs(parts: DoorDep, caller: CallerDep, filters: Filters, limit: Limit = 100) -> HandoffPage:
    listed = parts.engine.list_handoffs(**filters, limit=limit, where=access.visibility_clause(caller))
    return HandoffPage(items=await parts.ask("the hand-off list", listed))


@router.get("/v1/handoffs/count", response_model=Count, summary="Count hand-offs")
async def count_handoffs(parts: DoorDep, caller: CallerDep, filters: Filters) -> Count:
    counted = parts.engine.count_handoffs(**filters, where=access.visibility_clause(caller))
    return Count(count=await parts.ask("the hand-off count", counted))


@router.get("/v1/handoffs/{handoff_id}", response_model=h.HandoffView, summary="A hand-off")
async def view_handoff(parts: DoorDep, caller: CallerDep, handoff_id: HandoffId) -> h.HandoffView:
    subject = f"hand-off {handoff_id}"
    view = await parts.ask(subject, parts.engine.handoff(handoff_id).view(within=parts.options.command_seconds))
    if access.can_read(caller, access.handoff_parties(view)):
        return view
    # The coordinator is a party too; the registry names it, so it is looked up only when needed.
    if access.can_read(caller, access.handoff_parties(view, await handoff_coordinator_of(parts, handoff_id))):
        return view
    raise not_found(subject)


for _verb, _model in HANDOFF_COMMAND_BODIES.items():
    add_command_route(
        router,
        f"/v1/handoffs/{{handoff_id}}/{_verb}",
        name=ENGINE_NAMES[_verb],
        operation_id=f"handoff_{ENGINE_NAMES[_verb]}",
        target=("handoff_id", HandoffId),
        body_model=_model,
        response_model=h.HandoffView,
        summary=f"Hand-off command: {_verb}",
        handler=handoff_command,
    )
