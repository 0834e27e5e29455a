"""The legal clock on the store's calendar overrides: what workflows ask of it, one request at a time.

Each request uses the calendar with every stored override and the locality's office hours. The service keeps the
clocks it loaded, with the calendar's stamp they were loaded under, and reads the stamp (one primary-key SELECT)
before each use: an override an operator imports bumps it in the same transaction, so it applies to the next
computation without a restart, and in every worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store import stamps
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
from services.clock import changes
from services.clock.calendar import LegalCalendar
from services.clock.deadline import LegalClock
from services.clock.errors import ClockInputError, describe
from services.clock.office_hours import OfficeHours
from services.clock.profiles import schedule_rungs


async def load_legal_clock(sessions: async_sessionmaker[AsyncSession], locality: str | None) -> LegalClock:
    """The calendar with every stored override, and the office hours of `locality` (the default if it has none)."""
    async with sessions() as session:
        repository = CalendarRepository(session)
        years = await repository.years()
        hours = await repository.office_hours(locality) if locality else None
    return LegalClock(LegalCalendar(years), OfficeHours(hours))


@contextmanager
def _one_input_error() -> Iterator[None]:
    """A model the clock builds from bad input fails as the clock's own input error, with the same message."""
    try:
        yield
    except ValidationError as error:
        raise ClockInputError(describe(error)) from None


# Localities whose clocks one service keeps; beyond it the kept ones are dropped (there are a few hundred at most).
KEPT_LOCALITIES = 512


class ClockService:
    """Deadlines, card rungs, extensions and suspensions; bad input raises ClockInputError (an InvalidInput).

    Each computation uses the legal clock of its locality, unless handed one `load`ed for several computations of
    one request (a case's transition asks for a few at once: one load serves them all). A loaded clock is kept
    while the calendar's stamp in the store stays the same."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._kept: dict[str | None, tuple[int, LegalClock]] = {}  # by locality: the stamp it was loaded under

    async def load(self, locality: str | None) -> LegalClock:
        async with self._sessions() as session:
            stamp = await stamps.read(session, stamps.CALENDAR)  # before the calendar: a change in between reloads
            kept = self._kept.get(locality)
            if kept is not None and kept[0] == stamp:
                return kept[1]
            repository = CalendarRepository(session)
            years = await repository.years()
            hours = await repository.office_hours(locality) if locality else None
        clock = LegalClock(LegalCalendar(years), OfficeHours(hours))
        if len(self._kept) >= KEPT_LOCALITIES or any(kept_stamp != stamp for kept_stamp, _ in self._kept.values()):
            self._kept.clear()
        self._kept[locality] = (stamp, clock)
        return clock

    async def _clock(self, locality: str | None, loaded: LegalClock | None) -> LegalClock:
        return loaded if loaded is not None else await self.load(locality)

    async def deadline(self, clock: ClockSpec, loaded: LegalClock | None = None) -> Deadline:
        legal_clock = await self._clock(clock.locality, loaded)
        with _one_input_error():
            return legal_clock.deadline(clock)

    async def schedule_rungs(self, request: RungScheduleRequest, loaded: LegalClock | None = None) -> RungSchedule:
        legal_clock = await self._clock(request.clock.locality, loaded)
        with _one_input_error():
            return schedule_rungs(legal_clock, request.clock, request.profile)

    async def extend(self, request: DeadlineExtension, loaded: LegalClock | None = None) -> DeadlineChange:
        legal_clock = await self._clock(request.clock.locality, loaded)
        with _one_input_error():
            return changes.extend(legal_clock, request)

    async def suspend(self, request: DeadlineSuspension, loaded: LegalClock | None = None) -> DeadlineChange:
        legal_clock = await self._clock(request.clock.locality, loaded)
        with _one_input_error():
            return changes.suspend(legal_clock, request)
