"""The monthly reconciliation schedule on the dev server: created once, updated in place, run on demand."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.handoff.reconciliation import HandoffReportActivities
from activities.store.handoff_events import HandoffReconciliation
from schemas.handoff import HandoffPolicy
from tests.support.eventually import eventually
from workers.schedules import (
    RECONCILIATION_SCHEDULE_ID,
    RECONCILIATION_TIME_ZONE,
    ensure_schedules,
)
from workers.settings import Settings
from workflows.handoff.reconciliation import HandoffReconciliationWorkflow


async def test_the_schedule_is_created_then_updated_keeping_an_operators_pause_and_runs_the_reconciliation(
    dev_env: WorkflowEnvironment, store: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    client = dev_env.client
    first_queue, second_queue = f"tq-{uuid.uuid4()}", f"tq-{uuid.uuid4()}"
    handle = client.get_schedule_handle(RECONCILIATION_SCHEDULE_ID)
    try:
        await ensure_schedules(client, Settings(data_dir=tmp_path, task_queue=first_queue))
        created = await handle.describe()
        action = created.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert (action.workflow, action.task_queue) == ("HandoffReconciliation", first_queue)
        assert created.schedule.spec.time_zone_name == RECONCILIATION_TIME_ZONE
        assert HandoffPolicy().reconciliation_cron.startswith("0 9 1 ")
        [calendar] = created.schedule.spec.calendars
        assert (calendar.day_of_month[0].start, calendar.hour[0].start) == (1, 9)

        await handle.pause(note="paused by an operator during the audit")
        # The hand-off policy from settings says when it runs.
        later = HandoffPolicy(reconciliation_cron="30 8 2 * *")
        await ensure_schedules(client, Settings(data_dir=tmp_path, task_queue=second_queue, handoff_policy=later))
        updated = await handle.describe()
        assert updated.schedule.state.paused
        [calendar] = updated.schedule.spec.calendars
        assert (calendar.day_of_month[0].start, calendar.hour[0].start, calendar.minute[0].start) == (2, 8, 30)
        assert isinstance(updated.schedule.action, ScheduleActionStartWorkflow)
        assert updated.schedule.action.task_queue == second_queue

        reports = HandoffReportActivities(store)
        async with Worker(
            client,
            task_queue=second_queue,
            workflows=[HandoffReconciliationWorkflow],
            activities=[reports.reconcile_open_loops],
        ):
            await handle.trigger()

            async def letters() -> list[HandoffReconciliation]:
                async with store() as session:
                    return list((await session.scalars(select(HandoffReconciliation))).all())

            # Ten seconds were not always enough under a full test run: the triggered run waits for the scheduler.
            recorded = await eventually(letters, bool, what="the triggered reconciliation's record")
            # The run closes while its worker is still here. Left open, it would keep its ID, made of the trigger's
            # second, and the other store's run of this test could trigger within that second and start nothing.
            for running in (await handle.describe()).info.running_actions:
                await client.get_workflow_handle(running.workflow_id).result()
        [letter] = recorded
        assert letter.open_past_limit == 0 and letter.run_key.startswith("handoff-reconciliation")
    finally:
        await handle.delete()
