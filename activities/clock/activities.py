"""The legal clock's activities: deadlines and card rungs computed on the store's calendar overrides.

All calendar arithmetic runs here, never in workflows, so a replay never depends on a package's holiday data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.clock import changes
from activities.clock.calendar import LegalCalendar
from activities.clock.deadline import LegalClock
from activities.clock.errors import ClockInputError, describe
from activities.clock.office_hours import OfficeHours
from activities.clock.profiles import schedule_rungs
from activities.store.calendar import CalendarRepository
from schemas.clock import (
    ClockSpec,
    Deadline,
    DeadlineChange,
    DeadlineExtension,
    DeadlineSuspension,
    RungSchedule,
    RungScheduleRequest,
)


async def load_legal_clock(sessions: async_sessionmaker[AsyncSession], locality: str | None) -> LegalClock:
    """The calendar with every stored override, and the office hours of `locality` (the default if it has none)."""
    async with sessions() as session:
        repository = CalendarRepository(session)
        years = await repository.years()
        hours = await repository.office_hours(locality) if locality else None
    return LegalClock(LegalCalendar(years), OfficeHours(hours))


@contextmanager
def _bad_input_is_final() -> Iterator[None]:
    try:
        yield
    except ValidationError as error:
        raise ApplicationError(describe(error), type="ValidationFailed", non_retryable=True) from None
    except ClockInputError as error:
        raise ApplicationError(str(error), type="ValidationFailed", non_retryable=True) from None


class ClockActivities:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    @activity.defn(name="compute_deadline")
    async def compute_deadline(self, clock: ClockSpec) -> Deadline:
        legal_clock = await load_legal_clock(self._sessions, clock.locality)
        with _bad_input_is_final():
            return legal_clock.deadline(clock)

    @activity.defn(name="schedule_rungs")
    async def schedule_rungs(self, request: RungScheduleRequest) -> RungSchedule:
        legal_clock = await load_legal_clock(self._sessions, request.clock.locality)
        with _bad_input_is_final():
            return schedule_rungs(legal_clock, request.clock, request.profile)

    @activity.defn(name="apply_extension")
    async def apply_extension(self, request: DeadlineExtension) -> DeadlineChange:
        legal_clock = await load_legal_clock(self._sessions, request.clock.locality)
        with _bad_input_is_final():
            return changes.extend(legal_clock, request)

    @activity.defn(name="apply_suspension")
    async def apply_suspension(self, request: DeadlineSuspension) -> DeadlineChange:
        legal_clock = await load_legal_clock(self._sessions, request.clock.locality)
        with _bad_input_is_final():
            return changes.suspend(legal_clock, request)
