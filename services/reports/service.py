"""Builds one report: reads its figures from the store and writes its files under the reports directory."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from schemas.reports import ReportPeriod, ReportWritten, ScoreWeights
from services.reports.bucket import ReportBucket
from services.reports.document import write_report
from services.reports.figures import ReportOptions, read_figures


class ReportService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        directory: Path,
        weights: ScoreWeights,
        delay_threshold_working_days: int,
        bucket: ReportBucket | None = None,
    ) -> None:
        self._sessions = sessions
        self._directory = directory
        self._bucket = bucket
        self._options = ReportOptions(weights=weights, delay_threshold_working_days=delay_threshold_working_days)

    @property
    def bucket(self) -> ReportBucket | None:
        return self._bucket

    def directory_of(self, period: ReportPeriod) -> Path:
        return self._directory / f"{period.kind.value}-{period.label}"

    async def build(self, period: ReportPeriod, now: datetime) -> ReportWritten:
        """Writes the period's report (again, if it was written before) and answers where and its headline."""
        figures = await read_figures(self._sessions, period, self._options, now)
        directory = self.directory_of(period)
        # Drawing is CPU work for a second or two: off the event loop, so the worker's other tasks keep running.
        files = await asyncio.to_thread(write_report, figures, directory)
        stored_at = await self._bucket.upload(period, directory, files) if self._bucket is not None else None
        return ReportWritten(
            period=period,
            directory=str(directory),
            files=files,
            cases_opened=figures.volumes.cases_opened,
            cases_closed=figures.volumes.cases_closed,
            on_time_rate=figures.on_time.rate,
            typical_cases=len(figures.typical_cases),
            stored_at=stored_at,
        )
