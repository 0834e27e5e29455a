"""The trigger API over Temporal (the front door's direct client, tests): report one event or a batch of events,
or withdraw a source event.

Client-side code: it starts the intake workflows by name and waits for their reports; workflows never import it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from schemas import names
from schemas.handoff import (
    BATCH_WORKFLOW_BYTES,
    BATCH_WORKFLOW_EVENTS,
    BatchReport,
    EventBatch,
    EventOutcome,
    EventReport,
    Rejection,
    SourceEvent,
    SourceWithdrawal,
    WithdrawalReport,
    batch_workflow_id,
    intake_workflow_id,
    withdrawal_workflow_id,
)
from schemas.queues import DEFAULT_TASK_QUEUE


async def report_event(client: Client, event: SourceEvent, task_queue: str = DEFAULT_TASK_QUEUE) -> EventReport:
    """Records the event and starts its hand-offs; the same event again starts nothing and reports `duplicate`.

    A rejected event (unknown department, locality or related hand-off) comes back with outcome `rejected` and
    the rule; nothing was recorded, and the corrected event may be reported under the same key.
    """
    workflow_id = intake_workflow_id(event.key)
    handle, duplicate = await _start_once(
        client, names.HANDOFF_INTAKE_WORKFLOW, event, workflow_id, task_queue, EventReport
    )
    try:
        report: EventReport = await handle.result()
    except WorkflowFailureError as failure:
        rejection = _rejection(failure)
        if rejection is None:
            raise
        return EventReport(event_key=event.key, outcome=EventOutcome.REJECTED, rejection=rejection)
    return _as_duplicate(report) if duplicate else report


async def report_events(client: Client, batch: EventBatch, task_queue: str = DEFAULT_TASK_QUEUE) -> BatchReport:
    """Reports a batch (a nightly export): one batch workflow per part (`batch_parts`), reports in order.

    Reporting the same batch ID again returns its first report with every started event marked `duplicate`.
    """
    parts = batch_parts(batch.events)

    async def report_part(index: int, events: list[SourceEvent]) -> list[EventReport]:
        part = EventBatch(batch_id=batch.batch_id, events=events)
        workflow_id = batch_workflow_id(batch.events[0].source_department, batch.batch_id, index)
        handle, duplicate = await _start_once(
            client, names.HANDOFF_BATCH_WORKFLOW, part, workflow_id, task_queue, BatchReport
        )
        result: BatchReport = await handle.result()
        reports = result.reports
        return [_as_duplicate(report) for report in reports] if duplicate else reports

    parts_reports = await asyncio.gather(*(report_part(index, events) for index, events in enumerate(parts)))
    return BatchReport(batch_id=batch.batch_id, reports=[report for part in parts_reports for report in part])


def batch_parts(events: list[SourceEvent]) -> list[list[SourceEvent]]:
    """The batch cut in order into batch workflows' inputs of at most BATCH_WORKFLOW_EVENTS events and
    BATCH_WORKFLOW_BYTES as JSON (an event's package is bounded well below that, so each fits in one). The same
    events always cut the same way, so reporting a batch again finds its parts."""
    parts: list[list[SourceEvent]] = []
    part: list[SourceEvent] = []
    size = 0
    for event in events:
        weight = len(event.model_dump_json().encode())
        if part and (len(part) == BATCH_WORKFLOW_EVENTS or size + weight > BATCH_WORKFLOW_BYTES):
            parts.append(part)
            part, size = [], 0
        part.append(event)
        size += weight
    if part:
        parts.append(part)
    return parts


async def withdraw_source(
    client: Client, withdrawal: SourceWithdrawal, task_queue: str = DEFAULT_TASK_QUEUE
) -> WithdrawalReport:
    """Terminates every hand-off the withdrawn event started; withdrawing again reports them as already closed.

    An event that was never reported comes back with a rejection; nothing changed.
    """
    try:
        return await client.execute_workflow(
            names.HANDOFF_WITHDRAWAL_WORKFLOW,
            withdrawal,
            result_type=WithdrawalReport,
            id=withdrawal_workflow_id(withdrawal.key),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    except WorkflowFailureError as failure:
        rejection = _rejection(failure)
        if rejection is None:
            raise
        return WithdrawalReport(event_key=withdrawal.key, rejection=rejection)


async def _start_once(
    client: Client,
    workflow_type: str,
    arg: EventBatch | SourceEvent,
    workflow_id: str,
    task_queue: str,
    result_type: type,
) -> tuple[WorkflowHandle[Any, Any], bool]:
    """Starts the workflow unless a run of it exists that did not fail; then that run's handle, as a duplicate."""
    try:
        handle = await client.start_workflow(
            workflow_type,
            arg,
            id=workflow_id,
            task_queue=task_queue,
            result_type=result_type,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
        return handle, False
    except WorkflowAlreadyStartedError:
        return client.get_workflow_handle(workflow_id, result_type=result_type), True


def _as_duplicate(report: EventReport) -> EventReport:
    if report.outcome is EventOutcome.REJECTED:
        return report
    return report.model_copy(update={"outcome": EventOutcome.DUPLICATE})


def _rejection(failure: WorkflowFailureError) -> Rejection | None:
    """The rule that refused the input, raised by the workflow itself or by its activity."""
    cause: BaseException | None = failure.cause
    while cause is not None:
        rejection = Rejection.of(cause) if isinstance(cause, ApplicationError) else None
        if rejection is not None:
            return rejection
        cause = cause.__cause__
    return None
