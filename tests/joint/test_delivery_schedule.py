"""The daily opening of scheduled deliveries is a Temporal schedule at 00:05 on the legal calendar's wall clock."""

from __future__ import annotations

import uuid
from pathlib import Path

from temporalio.client import ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from workers.schedules import DELIVERY_OPENING_SCHEDULE_ID, RECONCILIATION_TIME_ZONE, ensure_schedules
from workers.settings import Settings


async def test_the_opening_runs_every_day_at_five_past_midnight_in_shanghai(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    queue = f"tq-{uuid.uuid4()}"

    await ensure_schedules(dev_env.client, Settings(data_dir=tmp_path, task_queue=queue))

    described = await dev_env.client.get_schedule_handle(DELIVERY_OPENING_SCHEDULE_ID).describe()
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert (action.workflow, action.task_queue) == ("DeliveryOpening", queue)
    assert described.schedule.spec.time_zone_name == RECONCILIATION_TIME_ZONE
    [calendar] = described.schedule.spec.calendars
    assert (calendar.hour[0].start, calendar.minute[0].start) == (0, 5)
    assert calendar.day_of_week[0].start == 0 and calendar.day_of_week[0].end == 6
