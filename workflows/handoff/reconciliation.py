"""The monthly reconciliation workflow, started by a Temporal schedule: the safety net ("monthly letter") that
lists every hand-off loop still open past its end-to-end limit. The letter stays in the store; the run answers its
id and counts, so a month with thousands of open loops never nears Temporal's payload limit."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.handoff.reconciliation import HandoffReportActivities
    from schemas import names
    from schemas.handoff import ReconciliationRequest, ReconciliationRun, ReconciliationSummary
    from workflows import policies


@workflow.defn(name=names.HANDOFF_RECONCILIATION_WORKFLOW)
class HandoffReconciliationWorkflow:
    @workflow.run
    async def run(self, run: ReconciliationRun) -> ReconciliationSummary:
        as_of = run.as_of or workflow.now()
        summary = await workflow.execute_activity_method(
            HandoffReportActivities.reconcile_open_loops, ReconciliationRequest(as_of=as_of), **policies.STORE
        )
        workflow.logger.info(
            "hand-off reconciliation recorded",
            extra={"report_id": summary.report_id, "open_past_limit": summary.open_past_limit},
        )
        return summary
