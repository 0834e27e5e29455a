"""Joint handling ("one thing"): a department with a step in the matter opens an application, and each department
says when its step is done. The department comes from the credential; the matter's steps say who does what."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.store.collaboration import CollaborationRepository
from schemas.joint.definition import JointMatter
from schemas.joint.run import RULE_DEPARTMENT, CompleteStep, JointStart, JointView, StepDone
from schemas.names import JOINT_COMPLETE_STEP, JOINT_VIEW, JOINT_WORKFLOW
from workers.door.deps import CallerDep, Door, DoorDep, KeyDep
from workers.door.problems import DoorProblem, Kind, forbidden, not_found
from workers.door.updates import send_update
from workflows.joint.workflow import joint_workflow_id

router = APIRouter(prefix="/v1/joint", tags=["joint handling"])

OPENING_POLL_SECONDS = 0.1

JointId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")]
StepCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


async def _matter(parts: Door, code: str) -> JointMatter:
    async with parts.sessions() as session:
        row = await CollaborationRepository(session).joint_matter(code)
    if row is None or not row.active:
        raise not_found(f"joint matter {code}")
    return JointMatter.model_validate(row.definition)


@router.post("", response_model=JointView, summary="Open a joint application")
async def open_application(parts: DoorDep, caller: CallerDep, body: JointStart) -> JointView:
    """Starts the application under its id (a retry with the same id answers the running one); only a department
    with a step in the matter may open one."""
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
            return view
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
    handle = parts.engine.temporal.get_workflow_handle(joint_workflow_id(joint_id))
    return await send_update(
        handle,
        JOINT_COMPLETE_STEP,
        command,
        JointView,
        command_id=command_id,
        closed=DoorProblem(Kind.RULE_REFUSED, "the application has closed", rule="joint.closed"),
        missing=not_found(f"joint application {joint_id}"),
    )
