"""Cases: launch, state and timeline, list and count, and one route per command."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import AwareDatetime, ValidationError

from caseloop.errors import InputRejected
from schemas.api import CASE_COMMAND_BODIES, CasePage, Count, LaunchRequest, LaunchResult
from schemas.case.commands import Actor, Code, CommandResult
from schemas.case.stages import CardColour, CaseStage, Priority, Role, SupervisionLevel
from schemas.case.state import CasePolicy, CaseRegistration
from schemas.case.views import CaseView, Timeline
from services.registry.roles import launch_roles
from workers.door import access
from workers.door.commands import add_command_route, case_command
from workers.door.deps import CallerDep, DoorDep
from workers.door.problems import DoorProblem, Kind, from_engine, not_found

router = APIRouter(prefix="/v1/cases", tags=["cases"])

ID_PATTERN = r"^[A-Za-z0-9._~-]+$"
CaseId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=200,
        pattern=ID_PATTERN,
        description="case-<system>~<number>; a case launched before keeps its case-<system>-<number>",
    ),
]


async def case_filters(
    stage: Annotated[list[CaseStage] | None, Query(max_length=20)] = None,
    card_colour: Annotated[list[CardColour] | None, Query(max_length=20)] = None,
    department: Annotated[
        list[Code] | None, Query(max_length=50, description="the lead department (repeatable: any of them)")
    ] = None,
    locality: Annotated[list[Code] | None, Query(max_length=50)] = None,
    matter: Annotated[list[Code] | None, Query(max_length=50)] = None,
    priority: Annotated[list[Priority] | None, Query(max_length=20)] = None,
    supervision_level: Annotated[list[SupervisionLevel] | None, Query(max_length=20)] = None,
    channel: Annotated[
        list[Code] | None,
        Query(max_length=50, description="an intake channel's code, `<channel>.<record number>`, or `unplaced`"),
    ] = None,
    overdue: Annotated[bool | None, Query(description="a running step deadline has passed")] = None,
    due_before: Annotated[AwareDatetime | None, Query(description="a step deadline falls before this")] = None,
    running: Annotated[bool | None, Query(description="the workflow still runs")] = None,
) -> dict[str, Any]:
    return {
        "stage": stage,
        "card_colour": card_colour,
        "department": department,
        "locality": locality,
        "matter": matter,
        "priority": priority,
        "supervision_level": supervision_level,
        "channel": channel,
        "overdue": overdue,
        "due_before": due_before,
        "running": running,
    }


Filters = Annotated[dict[str, Any], Depends(case_filters)]
Limit = Annotated[int, Query(ge=1, le=1000, description="at most this many, newest first")]


@router.post(
    "",
    status_code=201,
    response_model=LaunchResult,
    responses={200: {"model": LaunchResult, "description": "the case number was registered before"}},
    summary="Launch a case",
)
async def launch(parts: DoorDep, caller: CallerDep, body: LaunchRequest, response: Response) -> LaunchResult:
    """Registers a case under the calling system's case number; launching it again, with the same matter,
    locality and title, starts nothing (200), and another registration under that number is refused
    (case_number.taken). The registry names its coordinator and supervisors; only the matter's initiators may
    launch it."""
    system, reason = access.launching_system(caller, body)
    try:
        async with parts.sessions() as session:
            roles = await launch_roles(session, body.matter_code, body.locality_code)
    except InputRejected as rejected:
        raise from_engine(rejected, subject=f"matter {body.matter_code}") from None
    access.check_launch(caller, system, body.matter_code, roles)
    fields = body.model_dump(exclude={"on_behalf_of", "on_behalf_reason", "policy"})
    try:
        registration = CaseRegistration(
            **fields,
            system=system,
            coordinator=roles.coordinator,
            supervisors=roles.supervisors,
            policy=body.policy or CasePolicy(),
            launched_by=Actor(
                department=system, role=Role.INITIATOR, credential=caller.credential_id, on_behalf_reason=reason
            ),
        )
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise DoorProblem(Kind.INVALID_REQUEST, f"{field}: {first['msg']}", rule=first["type"], field=field) from None
    launched = await parts.ask(
        f"case {registration.case_id}", parts.engine.start(registration, within=parts.options.command_seconds)
    )
    response.status_code = 201 if launched.created else 200
    return LaunchResult(case_id=launched.handle.case_id, created=launched.created)


@router.get("", response_model=CasePage, summary="List cases")
async def list_cases(parts: DoorDep, caller: CallerDep, filters: Filters, limit: Limit = 100) -> CasePage:
    """The cases matching every filter given that the caller's department is party to, newest first."""
    where = access.visibility_clause(caller)
    return CasePage(items=await parts.ask("the case list", parts.engine.list(**filters, limit=limit, where=where)))


@router.get("/count", response_model=Count, summary="Count cases")
async def count_cases(parts: DoorDep, caller: CallerDep, filters: Filters) -> Count:
    """How many cases match, of those the caller's department is party to."""
    where = access.visibility_clause(caller)
    return Count(count=await parts.ask("the case count", parts.engine.count(**filters, where=where)))


async def readable_case(parts: DoorDep, caller: CallerDep, case_id: CaseId) -> CaseView:
    subject = f"case {case_id}"
    view = await parts.ask(subject, parts.engine.case_by_id(case_id).state(within=parts.options.command_seconds))
    if not access.can_read(caller, access.case_parties(view)):
        raise not_found(subject)
    return view


@router.get("/{case_id}", response_model=CaseView, summary="A case's state")
async def case_state(view: Annotated[CaseView, Depends(readable_case)]) -> CaseView:
    return view


@router.get("/{case_id}/timeline", response_model=Timeline, summary="A case's timeline")
async def case_timeline(
    parts: DoorDep,
    case_id: CaseId,
    _view: Annotated[CaseView, Depends(readable_case)],
    after_seq: Annotated[int, Query(ge=0, le=2**31)] = 0,
    limit: Limit = 100,
) -> Timeline:
    """The transitions after `after_seq`, oldest first: who, what, when, why."""
    timeline = parts.engine.case_by_id(case_id).timeline(after_seq=after_seq, limit=limit)
    return await parts.ask(f"case {case_id}", timeline)


for _verb, _model in CASE_COMMAND_BODIES.items():
    add_command_route(
        router,
        f"/{{case_id}}/{_verb}",
        name=_verb.replace("-", "_"),
        operation_id=f"case_{_verb.replace('-', '_')}",
        target=("case_id", CaseId),
        body_model=_model,
        response_model=CommandResult,
        summary=f"Case command: {_verb}",
        handler=case_command,
    )
