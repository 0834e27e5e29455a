"""Turns what Temporal and pydantic raise into caseloop's typed errors, so callers catch one hierarchy.

A rule's rejection becomes `InputRejected` with the rule and the field; a missing case `NotFound`; a server that
does not answer `Unreachable` naming the target; no answer in time `CommandTimeout`, which names the command id
to retry with.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError
from temporalio.client import (
    RPCTimeoutOrCancelledError,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from caseloop.errors import CommandError, CommandTimeout, InputRejected, NotFound, Unreachable

T = TypeVar("T")

# The ApplicationError type both workflows give a rejected command; its first detail names rule and field.
REJECTED = "Rejected"
# What a workflow answers a query or an update it has no handler for: the ID names a workflow of another kind.
_NO_HANDLER = "expected but not found"


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
        raise timed_out(call, within) from None
    except WorkflowUpdateFailedError as error:
        raise update_failed(call, error.cause) from None
    except RPCError as error:
        raise rpc_failed(call, error) from None
    except WorkflowQueryRejectedError as error:
        raise CommandError(f"{call.subject} refused the query: {error}") from None
    except WorkflowQueryFailedError as error:
        if _NO_HANDLER in error.message:  # a workflow of another kind under that ID
            raise NotFound(f"{call.subject} does not exist") from None
        raise CommandError(f"{call.subject} could not answer: {error.message}") from None


def timed_out(call: Call, seconds: float | None) -> CommandTimeout:
    waited = f" within {seconds:g}s" if seconds is not None else ""
    if call.command_id is None:
        return CommandTimeout(f"{call.subject}: no answer{waited}")
    return CommandTimeout(
        f"{call.subject}: no answer{waited}; the command may or may not be applied: retry it with "
        f"command id {call.command_id}, which applies it at most once",
        command_id=call.command_id,
    )


def update_failed(call: Call, cause: BaseException) -> CommandError:
    if isinstance(cause, ApplicationError) and cause.type == REJECTED:
        rule, field = _rule_and_field(cause.details)
        return rejected(f"{call.subject}: {cause.message}", rule, field)
    if isinstance(cause, ApplicationError) and _NO_HANDLER in cause.message:
        return NotFound(f"{call.subject} does not exist")
    if isinstance(cause, ApplicationError):
        return CommandError(f"{call.subject}: {cause.message}")
    return CommandError(f"{call.subject}: the command failed: {cause}")


def rejected(message: str, rule: str | None, field: str | None) -> InputRejected:
    """A rule's rejection; the message ends with the rule and the field, as scripts and logs need them."""
    named = ", ".join(part for part in (f"rule {rule}" if rule else "", f"field {field}" if field else "") if part)
    if not named or f"(rule {rule}" in message:  # the case workflow names them itself
        return InputRejected(message, rule=rule, field=field)
    return InputRejected(f"{message} ({named})", rule=rule, field=field)


def _rule_and_field(details: Any) -> tuple[str | None, str | None]:
    first = details[0] if details else None
    if isinstance(first, dict):
        return first.get("rule"), first.get("field")
    return None, None


def rpc_failed(call: Call, error: RPCError) -> CommandError:
    status, message = error.status, error.message
    if status is RPCStatusCode.NOT_FOUND:
        if "namespace" in message.lower():
            return NotFound(f"namespace {call.namespace} does not exist at {call.target}")
        if "already completed" in message.lower():
            return InputRejected(
                f"{call.subject} is finished and takes no more commands", rule="workflow.finished", field=None
            )
        return NotFound(f"{call.subject} does not exist")
    if status is RPCStatusCode.UNAVAILABLE:
        return Unreachable(f"cannot reach Temporal at {call.target}: {message}")
    if status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
        return timed_out(call, None)
    if status is RPCStatusCode.INVALID_ARGUMENT:
        return InputRejected(f"{call.subject}: Temporal refused the request: {message}", rule="temporal.invalid")
    if status in (RPCStatusCode.UNAUTHENTICATED, RPCStatusCode.PERMISSION_DENIED):
        return CommandError(f"Temporal at {call.target} refused access to namespace {call.namespace}: {message}")
    return CommandError(f"{call.subject}: Temporal answered {status.name}: {message}")


def connect_failed(target: str, namespace: str, error: Exception) -> Unreachable:
    return Unreachable(f"cannot reach Temporal at {target} (namespace {namespace}): {error}")


def invalid(error: ValidationError, *, within: str | None = None) -> InputRejected:
    """The first problem pydantic found, as a rejection naming the field (inside `within`) and pydantic's rule."""
    problems = error.errors()
    first = problems[0]
    parts = [within] if within else []
    parts += [str(part) for part in first["loc"]]
    field = ".".join(parts) or None
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    message = f"{field}: {first['msg']}{more}" if field else f"{first['msg']}{more}"
    return InputRejected(message, rule=first["type"], field=field)
