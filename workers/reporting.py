"""The report service and its bucket as the settings describe them, for the worker and the CLI alike."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.reports.bucket import ReportBucket
from services.reports.service import ReportService
from workers.settings import Settings


def report_bucket(settings: Settings) -> ReportBucket | None:
    if settings.report_bucket_url is None:
        return None
    secret = settings.report_bucket_secret_access_key
    return ReportBucket(
        settings.report_bucket_url,
        endpoint_url=settings.report_bucket_endpoint,
        region=settings.report_bucket_region,
        access_key_id=settings.report_bucket_access_key_id,
        secret_access_key=secret.get_secret_value() if secret is not None else None,
        link_seconds=settings.report_link_seconds,
    )


def report_service(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> ReportService:
    return ReportService(
        sessions,
        settings.report_dir or settings.data_dir / "reports",
        settings.report_score_weights,
        settings.report_delay_working_days,
        report_bucket(settings),
    )
