"""Sending an update to a workflow the door does not run through caseloop.direct (a delivery day, a joint
application) and answering as the door answers every command: a rule's refusal as rule_refused, a workflow
gone or not yet there as the route says, the engine out of reach as unavailable."""

from __future__ import annotations

from typing import Any, TypeVar

import structlog
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from schemas.rejections import Rejection
from workers.door.problems import DoorProblem, Kind

log = structlog.get_logger(__name__)

Result = TypeVar("Result")


async def send_update(
    handle: WorkflowHandle[Any, Any],
    update: str,
    command: object,
    result_type: type[Result],
    *,
    command_id: str,
    closed: DoorProblem,
    missing: DoorProblem,
) -> Result:
    """The update's answer; `closed` when the workflow ran and has closed, `missing` when it never ran."""
    try:
        return await handle.execute_update(update, command, result_type=result_type)
    except WorkflowUpdateFailedError as failed:
        cause = failed.cause
        rejection = Rejection.of(cause) if isinstance(cause, ApplicationError) else None
        if rejection is not None:
            raise DoorProblem(
                Kind.RULE_REFUSED, rejection.message, rule=rejection.rule, field=rejection.field, command_id=command_id
            ) from None
        log.error("update failed", update=update, workflow_id=handle.id)
        raise DoorProblem(Kind.INTERNAL, command_id=command_id) from None
    except RPCError as error:
        if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise (closed if await _closed(handle) else missing) from None
        raise DoorProblem(Kind.UNAVAILABLE, command_id=command_id) from None


async def _closed(handle: WorkflowHandle[Any, Any]) -> bool:
    """Whether the workflow ran and has closed (the server answers an update to it as not found)."""
    try:
        return (await handle.describe()).close_time is not None
    except RPCError:
        return False
