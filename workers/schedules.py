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
from schemas.reports import ReportKind, ReportRun
from schemas.scheduled import DeliveryOpening
from workers.settings import Settings
from workflows.delivery.workflow import DeliveryOpeningWorkflow
from workflows.handoff.reconciliation import HandoffReconciliationWorkflow
from workflows.reports import ReportWorkflow

RECONCILIATION_SCHEDULE_ID = "caseloop-handoff-reconciliation"
# The legal calendar's wall clock; when the reconciliation runs is HandoffPolicy.reconciliation_cron.
RECONCILIATION_TIME_ZONE = "Asia/Shanghai"

REPORT_SCHEDULE_IDS = {ReportKind.MONTHLY: "caseloop-report-monthly", ReportKind.QUARTERLY: "caseloop-report-quarterly"}
# 10:00 on the 1st, an hour after the reconciliation that the report includes; quarters on Jan, Apr, Jul, Oct 1st.
REPORT_CRONS = {ReportKind.MONTHLY: "0 10 1 * *", ReportKind.QUARTERLY: "0 10 1 1,4,7,10 *"}


DELIVERY_OPENING_SCHEDULE_ID = "caseloop-delivery-opening"
# 00:05 every day on the legal calendar's wall clock: the day's workflow asks the calendar whether it expects anything,
# so a make-up Saturday opens an expectation and National Day none.
DELIVERY_OPENING_CRON = "5 0 * * *"


def delivery_opening_schedule(task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            DeliveryOpeningWorkflow.run,
            DeliveryOpening(),
            id="delivery-opening",  # the schedule appends the run's instant
            task_queue=task_queue,
            static_summary="Daily opening of scheduled deliveries",
        ),
        spec=ScheduleSpec(cron_expressions=[DELIVERY_OPENING_CRON], time_zone_name=RECONCILIATION_TIME_ZONE),
        # A day missed while the cluster was down still opens, with its own date, once.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=12)),
    )


def reconciliation_schedule(task_queue: str, cron: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            HandoffReconciliationWorkflow.run,
            ReconciliationRun(),
            id="handoff-reconciliation",  # the schedule appends the run's instant
            task_queue=task_queue,
            static_summary="Monthly reconciliation of open hand-off loops",
        ),
        spec=ScheduleSpec(cron_expressions=[cron], time_zone_name=RECONCILIATION_TIME_ZONE),
        # A month missed while the cluster was down is still worth its letter, once.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=7)),
    )


def report_schedule(kind: ReportKind, task_queue: str) -> Schedule:
    """The monthly dispatch report or the quarterly circular of the period that just ended."""
    what = "Monthly report" if kind is ReportKind.MONTHLY else "Quarterly circular"
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ReportWorkflow.run,
            ReportRun(kind=kind),
            id=f"report-{kind.value}",  # the schedule appends the run's instant
            task_queue=task_queue,
            static_summary=f"{what} of the period just ended",
        ),
        spec=ScheduleSpec(cron_expressions=[REPORT_CRONS[kind]], time_zone_name=RECONCILIATION_TIME_ZONE),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=7)),
    )


async def _ensure(client: Client, schedule_id: str, desired: Schedule) -> None:
    try:
        await client.create_schedule(schedule_id, desired)
    except ScheduleAlreadyRunningError:

        def replace(current: ScheduleUpdateInput) -> ScheduleUpdate:
            # An operator's pause (and its note) outlives a new worker version.
            return ScheduleUpdate(schedule=dataclasses.replace(desired, state=current.description.schedule.state))

        await client.get_schedule_handle(schedule_id).update(replace)


async def ensure_schedules(client: Client, settings: Settings) -> None:
    """Creates each schedule, or replaces its definition with this version's; safe to call on every start."""
    await _ensure(
        client,
        RECONCILIATION_SCHEDULE_ID,
        reconciliation_schedule(settings.task_queue, settings.handoff_policy.reconciliation_cron),
    )
    for kind, schedule_id in REPORT_SCHEDULE_IDS.items():
        await _ensure(client, schedule_id, report_schedule(kind, settings.task_queue))
    await _ensure(client, DELIVERY_OPENING_SCHEDULE_ID, delivery_opening_schedule(settings.task_queue))
