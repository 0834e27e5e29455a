"""The health workflow: one store round trip through a worker.

A stand-in so the embedded stack has something real to run until the case workflow lands (issue 5).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.health import HealthActivities
    from schemas.health import HealthCheckInput, HealthCheckRecord, HealthReport
    from workflows import policies


@workflow.defn(name="HealthCheck")
class HealthCheckWorkflow:
    @workflow.run
    async def run(self, check: HealthCheckInput) -> HealthReport:
        workflow.logger.info("health check started")
        return await workflow.execute_activity_method(
            HealthActivities.record_health_check,
            HealthCheckRecord(check_id=check.check_id, checked_at=workflow.now()),
            **policies.STORE,
        )
