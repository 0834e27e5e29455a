"""Report activities: the monthly and quarterly reports, built from the store and written to the reports directory,
then sent to the configured recipients."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.gateway.webhook_secrets import SecretResolver, environment_secret
from activities.metrics import REPORT_DELIVERIES
from activities.service_errors import as_application_errors
from schemas.report_sending import ReportRecipient, ReportsSent
from schemas.reports import ReportRequest, ReportWritten
from services.reports.bucket import ReportBucket
from services.reports.sending import send_report
from services.reports.service import ReportService


class ReportActivities:
    def __init__(
        self,
        reports: ReportService,
        http: httpx.AsyncClient | None = None,
        recipients: Sequence[ReportRecipient] = (),
        secrets: SecretResolver = environment_secret,
        bucket: ReportBucket | None = None,
    ) -> None:
        self._reports = reports
        self._http = http
        self._recipients = list(recipients)
        self._secrets = secrets
        self._bucket = bucket  # reports kept in it are sent as links

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

    @activity.defn(name="report_send")
    async def send(self, written: ReportWritten) -> ReportsSent:
        """Sends the report to every recipient; one that could not be reached or answered 5xx makes the attempt
        retry (all are sent again under the same webhook ids, which recipients deduplicate)."""
        if not self._recipients or self._http is None:
            return ReportsSent(sent=[])
        sent = await send_report(self._http, written, self._recipients, self._secrets, self._bucket)
        for result in sent:
            # Recipient names are the settings' own, a handful: a bounded label.
            REPORT_DELIVERIES.labels(result.recipient, "delivered" if result.delivered else "failed").inc()
            if not result.delivered:
                activity.logger.warning(
                    "report not delivered",
                    extra={"period": written.period.label, "recipient": result.recipient, "error": result.error},
                )
        retry = [result.recipient for result in sent if result.retryable]
        if retry:
            raise ApplicationError(f"report {written.period.label} not delivered to {', '.join(retry)}")
        return ReportsSent(sent=sent)
