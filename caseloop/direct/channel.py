"""What every handle shares: the Temporal client, where it points, how long to wait, and the command path.

A command is sent as a workflow update whose ID is the command id, and awaited for at most `within` seconds. The
workflow remembers the ids it applied, so sending the same command id again, after a timeout or a crash, answers
the first result instead of applying it twice.

Two refusals only mean "not now", and the channel sends the same command id again until it is taken or `within`
runs out: a workflow about to continue as new (its next run takes the command), and a server with too many updates
in flight on one workflow (RESOURCE_EXHAUSTED). Neither changed anything.

A workflow that closes with the command admitted but not yet taken leaves the server no update to answer ("update
... not found"): the channel asks the workflow's status. Running again (a new run) it sends the command again; closed,
the command is refused as one sent to a finished workflow, never as one for a workflow that does not exist.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from caseloop.direct.failures import Call, WorkflowClosed, guarded
from caseloop.sdk.building import command_id_of
from schemas.rejections import ErrorType

T = TypeVar("T")

# How long the channel waits before sending a command again that was refused for now; doubled up to the cap.
FIRST_RESEND = 0.05
LONGEST_RESEND = 1.0

# The front door sends `<department>/<Idempotency-Key>` as the command id (64 + 1 + 100 characters at most).
LONGEST_COMMAND_ID = 200


@dataclass(frozen=True)
class Channel:
    temporal: Client
    target: str
    namespace: str
    task_queue: str
    within: float | None = None

    def call(self, subject: str, command_id: str | None = None) -> Call:
        return Call(target=self.target, namespace=self.namespace, subject=subject, command_id=command_id)

    async def ask(self, subject: str, work: Awaitable[T], within: float | None = None) -> T:
        """A read (query, visibility), answered within `within` seconds, errors translated."""
        return await guarded(self.call(subject), work, self._within(within))

    async def send(
        self,
        handle: WorkflowHandle[Any, Any],
        updates: Mapping[type[BaseModel], Any],
        command: BaseModel,
        *,
        subject: str,
        command_id: str | None,
        within: float | None,
    ) -> Any:
        """Sends `command` as its update of `updates` under `command_id` (a new uuid4 when None)."""
        update = updates.get(type(command))
        if update is None:
            raise TypeError(f"{type(command).__name__} is not a command of {subject}")
        command_id = command_id_of(command_id, longest=LONGEST_COMMAND_ID)
        work = until_taken(self.temporal, handle, update, command, command_id)
        return await guarded(self.call(subject, command_id), work, self._within(within))

    def _within(self, within: float | None) -> float | None:
        return self.within if within is None else within


def updates_of(commands: Mapping[str, tuple[Any, type[BaseModel]]]) -> dict[type[BaseModel], Any]:
    """Each command model's update, from a table of name: (update, model)."""
    return {model: update for update, model in commands.values()}


async def until_taken(
    temporal: Client, handle: WorkflowHandle[Any, Any], update: Any, command: BaseModel, command_id: str
) -> Any:
    """The update's result, sent again under the same id while the workflow or the server refuses it for now."""
    pause = FIRST_RESEND
    while True:
        try:
            return await handle.execute_update(update, command, id=command_id)
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            if not (isinstance(cause, ApplicationError) and cause.type == ErrorType.CONTINUING):
                raise
        except RPCError as error:
            if _lost_at_close(error):
                if not await _running(temporal, handle.id):
                    raise WorkflowClosed from None
            elif error.status is not RPCStatusCode.RESOURCE_EXHAUSTED:
                raise
        await asyncio.sleep(pause * random.uniform(0.5, 1.0))
        pause = min(pause * 2, LONGEST_RESEND)


def _lost_at_close(error: RPCError) -> bool:
    """The server admitted the update and the workflow closed before taking it."""
    return error.status is RPCStatusCode.NOT_FOUND and error.message.startswith("update ")


async def _running(temporal: Client, workflow_id: str) -> bool:
    """Whether the workflow's latest run is running: a continue-as-new started one, which takes the command. Asked
    without decoding the search attributes, which the test server answers in a shape the client cannot read."""
    request = DescribeWorkflowExecutionRequest(
        namespace=temporal.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
    )
    described = await temporal.workflow_service.describe_workflow_execution(request)
    return described.workflow_execution_info.status == WorkflowExecutionStatus.RUNNING.value
