"""The health workflow runs through a worker against the store, on both Temporal servers and both databases."""

from __future__ import annotations

import uuid

from temporalio.testing import WorkflowEnvironment

from schemas.health import HealthCheckInput, HealthReport
from workers.resources import Resources
from workers.worker import build_worker
from workflows.health import HealthCheckWorkflow


async def test_health_check_writes_to_the_store(
    dev_env: WorkflowEnvironment, resources: Resources, task_queue: str
) -> None:
    async with build_worker(dev_env.client, resources, task_queue):
        report = await dev_env.client.execute_workflow(
            HealthCheckWorkflow.run,
            HealthCheckInput(check_id="first"),
            id=f"health-{uuid.uuid4()}",
            task_queue=task_queue,
            result_type=HealthReport,
        )
        again = await dev_env.client.execute_workflow(
            HealthCheckWorkflow.run,
            HealthCheckInput(check_id="second"),
            id=f"health-{uuid.uuid4()}",
            task_queue=task_queue,
            result_type=HealthReport,
        )
    assert report.check_id == "first"
    assert report.store_rows == 1
    assert again.store_rows == 2
    assert report.checked_at.tzinfo is not None


async def test_health_check_on_time_skipping_server(
    ts_env: WorkflowEnvironment, resources: Resources, task_queue: str
) -> None:
    async with build_worker(ts_env.client, resources, task_queue):
        report = await ts_env.client.execute_workflow(
            HealthCheckWorkflow.run,
            HealthCheckInput(check_id="ts"),
            id=f"health-{uuid.uuid4()}",
            task_queue=task_queue,
            result_type=HealthReport,
        )
    assert report.store_rows == 1
