"""Temporal schedules the engine keeps: created on first start, brought up to date on every later one."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from schemas.handoff import ReconciliationRun
from workers.settings import Settings
from workflows.handoff.reconciliation import HandoffReconciliationWorkflow

RECONCILIATION_SCHEDULE_ID = "caseloop-handoff-reconciliation"
# 09:00 on the 1st of every month, on the legal calendar's wall clock (domain research §6.4: `0 0 9 1 * ?`).
RECONCILIATION_CRON = "0 9 1 * *"
RECONCILIATION_TIME_ZONE = "Asia/Shanghai"


def reconciliation_schedule(task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            HandoffReconciliationWorkflow.run,
            ReconciliationRun(),
            id="handoff-reconciliation",  # the schedule appends the run's instant
            task_queue=task_queue,
            static_summary="Monthly reconciliation of open hand-off loops",
        ),
        spec=ScheduleSpec(cron_expressions=[RECONCILIATION_CRON], time_zone_name=RECONCILIATION_TIME_ZONE),
        # A month missed while the cluster was down is still worth its letter, once.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=7)),
    )


async def ensure_schedules(client: Client, settings: Settings) -> None:
    """Creates each schedule, or replaces its definition with this version's; safe to call on every start."""
    desired = reconciliation_schedule(settings.task_queue)
    try:
        await client.create_schedule(RECONCILIATION_SCHEDULE_ID, desired)
    except ScheduleAlreadyRunningError:

        def replace(current: ScheduleUpdateInput) -> ScheduleUpdate:
            # An operator's pause (and its note) outlives a new worker version.
            return ScheduleUpdate(schedule=dataclasses.replace(desired, state=current.description.schedule.state))

        await client.get_schedule_handle(RECONCILIATION_SCHEDULE_ID).update(replace)
