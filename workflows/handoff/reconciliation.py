"""The monthly reconciliation workflow, started by a Temporal schedule: the safety net ("monthly letter") that
lists every hand-off loop still open past its end-to-end limit."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.handoff.reconciliation import HandoffReportActivities
    from schemas.handoff import ReconciliationReport, ReconciliationRequest, ReconciliationRun
    from workflows import policies


@workflow.defn(name="HandoffReconciliation")
class HandoffReconciliationWorkflow:
    @workflow.run
    async def run(self, run: ReconciliationRun) -> ReconciliationReport:
        as_of = run.as_of or workflow.now()
        report = await workflow.execute_activity_method(
            HandoffReportActivities.reconcile_open_loops, ReconciliationRequest(as_of=as_of), **policies.STORE
        )
        workflow.logger.info("hand-off reconciliation recorded", extra={"open_past_limit": report.open_past_limit})
        return report
