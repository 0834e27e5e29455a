"""The report workflow, started by the monthly and quarterly schedules (月調度、季通報) or by hand: it names the period
and asks one activity to build the report, whose files stay in the reports directory; the run answers where."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.reports import ReportActivities
    from schemas.reports import REPORT_WORKFLOW, ReportPeriod, ReportRequest, ReportRun, ReportWritten
    from workflows import policies


@workflow.defn(name=REPORT_WORKFLOW)
class ReportWorkflow:
    @workflow.run
    async def run(self, run: ReportRun) -> ReportWritten:
        if run.period is None:
            period = ReportPeriod.previous(run.kind, workflow.now())
        else:
            try:
                period = ReportPeriod.parse(run.kind, run.period)
            except ValueError as error:
                raise ApplicationError(f"period: {error}", type="ValidationFailed", non_retryable=True) from None
        written = await workflow.execute_activity_method(
            ReportActivities.build_report, ReportRequest(period=period), **policies.STORE
        )
        workflow.logger.info("report built", extra={"period": period.label, "directory": written.directory})
        if workflow.patched("report-sending"):
            sent = await workflow.execute_activity_method(ReportActivities.send, written, **policies.REPORT_SENDING)
            delivered = [result.recipient for result in sent.sent if result.delivered]
            workflow.logger.info("report sent", extra={"period": period.label, "recipients": delivered})
        return written
