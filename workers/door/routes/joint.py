"""Joint handling ("one thing"): a department with a step in the matter opens an application, and each department
says when its step is done. The department comes from the credential; the matter's steps say who does what."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated

import structlog
from fastapi import APIRouter, Path, Request
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.store.collaboration import CollaborationRepository, joint_status_code_of
from schemas.joint.definition import JointMatter
from schemas.joint.run import (
    RULE_DEPARTMENT,
    CompleteStep,
    JointOpened,
    JointStart,
    JointStatusAnswer,
    JointStatusQuery,
    JointView,
    StepDone,
    StepView,
)
from schemas.names import ANSWER_LADDER_ORDER, JOINT_COMPLETE_STEP, JOINT_VIEW, JOINT_WORKFLOW
from schemas.orders import AnswerLadderOrder, OrderAnswerPost
from services.intake.codes import new_code, verifies
from workers.door.deps import CallerDep, Door, DoorDep, KeyDep
from workers.door.problems import DoorProblem, Kind, forbidden, not_found
from workers.door.routes.intake import admit_lookup
from workers.door.updates import send_update
from workflows.joint.workflow import joint_workflow_id

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/v1/joint", tags=["joint handling"])
status_router = APIRouter(tags=["status"])

OPENING_POLL_SECONDS = 0.1

JointId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")]
StepCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


async def _matter(parts: Door, code: str) -> JointMatter:
    async with parts.sessions() as session:
        row = await CollaborationRepository(session).joint_matter(code)
    if row is None or not row.active:
        raise not_found(f"joint matter {code}")
    return JointMatter.model_validate(row.definition)


@router.post("", response_model=JointOpened, summary="Open a joint application")
async def open_application(parts: DoorDep, caller: CallerDep, body: JointStart) -> JointOpened:
    """Starts the application under its id (a retry with the same id answers the running one); only a department
    with a step in the matter may open one. The answer carries the verification code to give the applicant for the
    public status lookup."""
    matter = await _matter(parts, body.matter_code)
    if caller.department not in {step.department for step in matter.steps}:
        raise forbidden(f"{caller.department} has no step in {matter.code}", rule=RULE_DEPARTMENT, field="matter_code")
    client = parts.engine.temporal
    workflow_id = joint_workflow_id(body.joint_id)
    try:
        handle = await client.start_workflow(
            JOINT_WORKFLOW,
            body.model_copy(update={"received_at": None}),
            id=workflow_id,
            task_queue=parts.settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"Joint {matter.code}",
        )
    except WorkflowAlreadyStartedError:
        handle = client.get_workflow_handle(workflow_id)
    # The view exists once the workflow has planned the application (one activity); wait for it, bounded.
    for _ in range(int(parts.options.command_seconds / OPENING_POLL_SECONDS)):
        view = await handle.query(JOINT_VIEW, result_type=JointView)
        if view is not None:
            if view.matter_code != matter.code:
                raise DoorProblem(Kind.IDEMPOTENCY_KEY_REUSED, "this joint_id belongs to another matter")
            code = await joint_status_code_of(parts.sessions, body.joint_id, new_code)
            return JointOpened(**view.model_dump(), verification_code=code)
        await asyncio.sleep(OPENING_POLL_SECONDS)
    raise DoorProblem(Kind.TIMEOUT, "the application is opening; read it again shortly")


@router.get("/{joint_id}", response_model=JointView, summary="Read a joint application")
async def read_application(parts: DoorDep, caller: CallerDep, joint_id: JointId) -> JointView:
    """The application's steps and cards; for the departments with a step in it."""
    handle = parts.engine.temporal.get_workflow_handle(joint_workflow_id(joint_id))
    try:
        view = await handle.query(JOINT_VIEW, result_type=JointView)
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            raise not_found(f"joint application {joint_id}") from None
        raise DoorProblem(Kind.UNAVAILABLE) from None
    if view is None or caller.department not in {step.department for step in view.steps}:
        raise not_found(f"joint application {joint_id}")
    return view


@router.post("/{joint_id}/steps/{step}", response_model=JointView, summary="Say a step of an application is done")
async def complete_step(
    parts: DoorDep, caller: CallerDep, key: KeyDep, joint_id: JointId, step: StepCode, body: StepDone
) -> JointView:
    command_id = key or uuid.uuid4().hex
    command = CompleteStep(command_id=command_id, department=caller.department, step=step, note=body.note)
    return await _update(parts, joint_id, JOINT_COMPLETE_STEP, command, command_id)


@router.post(
    "/{joint_id}/answer-supervision-order",
    response_model=JointView,
    summary="Answer the supervision order a late step's ladder issued",
)
async def answer_supervision_order(
    parts: DoorDep, caller: CallerDep, key: KeyDep, joint_id: JointId, body: OrderAnswerPost
) -> JointView:
    """The ordered department answers, as a case's party answers `answer-supervision-order`; only the department
    the order is addressed to (from the credential) may."""
    command_id = key or uuid.uuid4().hex
    command = AnswerLadderOrder(
        command_id=command_id, department=caller.department, order_id=body.order_id, answer=body.answer
    )
    return await _update(parts, joint_id, ANSWER_LADDER_ORDER, command, command_id)


async def _update(parts: Door, joint_id: str, update: str, command: object, command_id: str) -> JointView:
    """Sends a command to the application's workflow: a closed one refuses it, an unknown one is 404."""
    return await send_update(
        parts.engine.temporal.get_workflow_handle(joint_workflow_id(joint_id)),
        update,
        command,
        JointView,
        command_id=command_id,
        closed=DoorProblem(Kind.RULE_REFUSED, "the application has closed", rule="joint.closed"),
        missing=not_found(f"joint application {joint_id}"),
    )


def _last_progress(matter: JointMatter | None, steps: list[StepView]) -> str | None:
    """The step done last, by the name the registry gives it (its code when the matter is gone)."""
    done = [step for step in steps if step.done_at is not None]
    if not done:
        return None
    last = max(done, key=lambda step: step.done_at or datetime.min.replace(tzinfo=UTC))
    defined = matter.step(last.code) if matter is not None else None
    return f"{defined.name if defined is not None else last.code}: {last.status.value}"


@status_router.post(
    "/v1/joint/status", response_model=JointStatusAnswer, summary="An applicant's joint status (public)"
)
async def joint_status(parts: DoorDep, request: Request, body: JointStatusQuery) -> JointStatusAnswer:
    """The stage, the deadline and the last progress line of a joint application, for its id and the verification
    code its applicant was given; nothing else. No credential: rate-limited per client address with the case lookup,
    and a wrong code is answered as an unknown application."""
    address = await admit_lookup(request, parts)
    async with parts.sessions() as session:
        repository = CollaborationRepository(session)
        code = await repository.joint_status_code(body.joint_id)
        row = await repository.joint_handling(body.joint_id) if code is not None else None
        matter_row = await repository.joint_matter(row.matter_code) if row is not None else None
    if code is None or row is None or not verifies(code.verification_code, body.code):
        log.warning("joint status lookup refused", joint_id=body.joint_id, address=address)
        raise DoorProblem(Kind.NOT_FOUND, "no joint application with this id and verification code", rule="status.code")
    matter = JointMatter.model_validate(matter_row.definition) if matter_row is not None else None
    steps = [StepView.model_validate(step) for step in row.steps.get("steps", [])]
    return JointStatusAnswer(
        joint_id=body.joint_id, stage=row.status, deadline=row.due_at, last_progress=_last_progress(matter, steps)
    )
