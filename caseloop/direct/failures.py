"""Turns what Temporal raises into caseloop's typed errors, so callers catch one hierarchy.

A rule's rejection becomes `InputRejected` with the rule and the field; a missing case `NotFound`; a server that
does not answer `Unreachable` naming the target; no answer in time `CommandTimeout`, which names the command id
to retry with.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

import structlog
from temporalio.client import (
    RPCTimeoutOrCancelledError,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from caseloop.errors import CommandError, InputRejected, NotFound, Unreachable
from caseloop.sdk.failures import refusal, timed_out
from schemas.rejections import Rejection
from workers.client import unreachable_reason

T = TypeVar("T")

log = structlog.get_logger(__name__)

# What a workflow answers a query or an update it has no handler for: the ID names a workflow of another kind.
_NO_HANDLER = "expected but not found"


class WorkflowClosed(Exception):
    """The workflow closed before it took a command sent to it."""


@dataclass(frozen=True)
class Call:
    """What a call is about, for the messages: the server, the subject, and the command id when it is one."""

    target: str
    namespace: str
    subject: str
    command_id: str | None = None


async def guarded(call: Call, work: Awaitable[T], within: float | None) -> T:
    """Awaits `work` for at most `within` seconds (None: no limit), raising only caseloop errors."""
    try:
        async with asyncio.timeout(within):
            return await work
    except (TimeoutError, RPCTimeoutOrCancelledError) as error:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError from error  # the caller cancelled: not a timeout
        raise timed_out(call.subject, call.command_id, within) from None
    except WorkflowUpdateFailedError as error:
        raise update_failed(call, error.cause) from None
    except RPCError as error:
        raise rpc_failed(call, error) from None
    except WorkflowClosed:
        raise finished(call) from None
    except WorkflowQueryRejectedError as error:
        raise CommandError(f"{call.subject} refused the query: {error}") from None
    except WorkflowQueryFailedError as error:
        if _NO_HANDLER in error.message:  # a workflow of another kind under that ID
            raise NotFound(f"{call.subject} does not exist") from None
        raise CommandError(f"{call.subject} could not answer: {error.message}") from None


def update_failed(call: Call, cause: BaseException) -> CommandError:
    rejection = Rejection.of(cause) if isinstance(cause, ApplicationError) else None
    if rejection is not None:
        return refusal(call.subject, rejection)
    if isinstance(cause, ApplicationError) and _NO_HANDLER in cause.message:
        return NotFound(f"{call.subject} does not exist")
    if isinstance(cause, ApplicationError):
        return CommandError(f"{call.subject}: {cause.message}")
    return CommandError(f"{call.subject}: the command failed: {cause}")


def rpc_failed(call: Call, error: RPCError) -> CommandError:
    status, message = error.status, error.message
    if status is RPCStatusCode.NOT_FOUND:
        if "namespace" in message.lower():
            return NotFound(f"namespace {call.namespace} does not exist at {call.target}")
        if "already completed" in message.lower():
            return finished(call)
        return NotFound(f"{call.subject} does not exist")
    if status is RPCStatusCode.UNAVAILABLE:
        return Unreachable(f"cannot reach Temporal at {call.target}: {message}")
    if status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
        return timed_out(call.subject, call.command_id, None)
    if status is RPCStatusCode.INVALID_ARGUMENT:
        return InputRejected(f"{call.subject}: Temporal refused the request: {message}", rule="temporal.invalid")
    if status in (RPCStatusCode.UNAUTHENTICATED, RPCStatusCode.PERMISSION_DENIED):
        return CommandError(f"Temporal at {call.target} refused access to namespace {call.namespace}: {message}")
    return CommandError(f"{call.subject}: Temporal answered {status.name}: {message}")


def finished(call: Call) -> InputRejected:
    return InputRejected(f"{call.subject} is finished and takes no more commands", rule="workflow.finished", field=None)


def connect_failed(target: str, namespace: str, error: Exception) -> Unreachable:
    """Temporal did not answer: where, and why in plain words; the transport's own text goes to the log."""
    log.warning("temporal unreachable", target=target, error=str(error))
    return Unreachable(f"Temporal at {target} (namespace {namespace}) cannot be reached: {unreachable_reason(error)}")
