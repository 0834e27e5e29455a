"""Report activities: the monthly and quarterly reports, built from the store and written to the reports directory."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from activities.service_errors import as_application_errors
from schemas.reports import ReportRequest, ReportWritten
from services.reports.service import ReportService


class ReportActivities:
    def __init__(self, reports: ReportService) -> None:
        self._reports = reports

    @activity.defn(name="report_build")
    async def build_report(self, request: ReportRequest) -> ReportWritten:
        """Reads the period's figures and writes its Markdown, CSV, PNG and PDF files; a retry writes them again."""
        with as_application_errors():
            written = await self._reports.build(request.period, datetime.now(UTC))
        activity.logger.info(
            "report written",
            extra={"period": request.period.label, "kind": request.period.kind.value, "directory": written.directory},
        )
        return written
