"""The health activity: writes one row per check so a running stack can prove the worker reaches the store.

Stands in until the case workflow lands (issue 5).
"""

from __future__ import annotations

import socket

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.metrics import HEALTH_CHECKS
from activities.store.models import HealthCheck
from schemas.health import HealthCheckRecord, HealthReport


class HealthActivities:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    @activity.defn(name="record_health_check")
    async def record_health_check(self, record: HealthCheckRecord) -> HealthReport:
        worker = f"{socket.gethostname()}/{activity.info().task_queue}"
        async with self._sessions.begin() as session:
            existing = await session.scalar(select(HealthCheck).where(HealthCheck.check_id == record.check_id))
            if existing is None:  # a retried attempt finds its own row and writes nothing
                session.add(HealthCheck(check_id=record.check_id, checked_at=record.checked_at, worker=worker))
                await session.flush()
            count = await session.scalar(select(func.count()).select_from(HealthCheck))
        HEALTH_CHECKS.inc()
        activity.logger.info("health check recorded", extra={"check_id": record.check_id})
        return HealthReport(
            check_id=record.check_id, checked_at=record.checked_at, worker=worker, store_rows=count or 0
        )
