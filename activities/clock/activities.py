"""The legal clock's activities: deadlines and card rungs, computed by `services.clock` on the store's overrides.

All calendar arithmetic runs here, never in workflows, so a replay never depends on a package's holiday data.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.service_errors import as_application_errors
from schemas.clock import (
    ClockSpec,
    Deadline,
    DeadlineChange,
    DeadlineExtension,
    DeadlineSuspension,
    RungSchedule,
    RungScheduleRequest,
)
from services.clock.service import ClockService


class ClockActivities:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._clock = ClockService(session_factory)

    @activity.defn(name="compute_deadline")
    async def compute_deadline(self, clock: ClockSpec) -> Deadline:
        with as_application_errors():
            return await self._clock.deadline(clock)

    @activity.defn(name="schedule_rungs")
    async def schedule_rungs(self, request: RungScheduleRequest) -> RungSchedule:
        with as_application_errors():
            return await self._clock.schedule_rungs(request)

    @activity.defn(name="apply_extension")
    async def apply_extension(self, request: DeadlineExtension) -> DeadlineChange:
        with as_application_errors():
            return await self._clock.extend(request)

    @activity.defn(name="apply_suspension")
    async def apply_suspension(self, request: DeadlineSuspension) -> DeadlineChange:
        with as_application_errors():
            return await self._clock.suspend(request)
