"""Overrides in the store (SQLite and PostgreSQL) and the clock's activities reading them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.clock.activities import ClockActivities
from activities.store.calendar import CalendarRepository
from activities.store.db import create_engine, create_session_factory
from schemas.clock import (
    CalendarOverride,
    CalendarSource,
    ClockSpec,
    ClockUnit,
    DeadlineExtension,
    DeadlineSuspension,
    OfficeHoursOverride,
    Pause,
    RungKind,
    RungScheduleRequest,
)
from services.clock.service import ClockService
from tests.clock.conftest import at

YEAR_2027 = CalendarOverride.model_validate(
    {
        "year": 2027,
        "source": "test notice 2027",
        "holidays": [
            {"name": "New Year's Day", "from": "2027-01-01", "to": "2027-01-03"},
            {"name": "Spring Festival", "from": "2027-02-05", "to": "2027-02-12"},
        ],
        "makeup_workdays": [{"name": "Spring Festival", "dates": ["2027-02-20"]}],
    }
)
SUMMER_HOURS = OfficeHoursOverride.model_validate(
    {
        "locality": "411100",
        "hours": ["08:30-12:00", "14:00-17:00"],
        "seasons": [{"name": "summer", "from": "05-01", "to": "09-30", "hours": ["08:30-12:00", "14:30-17:30"]}],
    }
)
IMPORTED_AT = datetime(2026, 11, 25, 8, tzinfo=UTC)


async def import_year(sessions: async_sessionmaker[AsyncSession], override: CalendarOverride) -> None:
    async with sessions.begin() as session:
        await CalendarRepository(session).replace_year(override, "2027.yaml", IMPORTED_AT)


async def test_a_year_round_trips(sessions: async_sessionmaker[AsyncSession]) -> None:
    await import_year(sessions, YEAR_2027)
    async with sessions() as session:
        years = await CalendarRepository(session).years()
    stored = years[2027]
    assert stored.source is CalendarSource.OVERRIDE
    assert stored.label == "test notice 2027 (imported from 2027.yaml)"
    assert stored.imported_at == IMPORTED_AT
    assert [named.day for named in stored.days_off][:3] == [date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)]
    assert len(stored.days_off) == 11
    assert [(named.day, named.name) for named in stored.makeup_workdays] == [(date(2027, 2, 20), "Spring Festival")]


async def test_importing_a_year_again_replaces_it(sessions: async_sessionmaker[AsyncSession]) -> None:
    await import_year(sessions, YEAR_2027)
    smaller = CalendarOverride.model_validate(
        {"year": 2027, "source": "corrected", "holidays": [{"name": "New Year's Day", "dates": ["2027-01-01"]}]}
    )
    await import_year(sessions, smaller)
    async with sessions() as session:
        years = await CalendarRepository(session).years()
    assert list(years) == [2027]
    assert [named.day for named in years[2027].days_off] == [date(2027, 1, 1)]
    assert years[2027].makeup_workdays == []


async def test_office_hours_round_trip(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await CalendarRepository(session).replace_office_hours(SUMMER_HOURS, IMPORTED_AT)
    async with sessions.begin() as session:
        await CalendarRepository(session).replace_office_hours(SUMMER_HOURS, IMPORTED_AT)  # again: replaced
    async with sessions() as session:
        repository = CalendarRepository(session)
        assert await repository.office_hours("411100") == SUMMER_HOURS
        assert await repository.office_hours("unknown") is None


async def test_the_activity_uses_the_stored_year_instead_of_the_estimate(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    activities = ClockActivities(sessions)
    clock = ClockSpec(started_at=at("2027-02-04T10:00+08:00"), limit=1, unit=ClockUnit.WORKING_DAYS)
    estimated = await ActivityEnvironment().run(activities.compute_deadline, clock)
    assert estimated.estimated and estimated.estimated_years == [2027]
    await import_year(sessions, YEAR_2027)
    exact = await ActivityEnvironment().run(activities.compute_deadline, clock)
    assert not exact.estimated
    assert exact.due_at == at("2027-02-15T17:30+08:00")  # 02-05..02-12 off in the override, then a weekend
    assert "2027-02-05 Spring Festival" in exact.explanation


async def test_the_activity_uses_the_localitys_office_hours(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await CalendarRepository(session).replace_office_hours(SUMMER_HOURS, IMPORTED_AT)
    activities = ClockActivities(sessions)
    here = ClockSpec(started_at=at("2026-07-01T11:30+08:00"), limit=1, unit=ClockUnit.OFFICE_HOURS, locality="411100")
    elsewhere = here.model_copy(update={"locality": "320000"})
    schedule = await ActivityEnvironment().run(activities.schedule_rungs, RungScheduleRequest(clock=here))
    assert schedule.deadline.due_at == at("2026-07-01T15:00+08:00")
    assert next(rung for rung in schedule.rungs if rung.kind is RungKind.REMINDER_NOTICE).at == at(
        "2026-07-02T08:30+08:00"
    )
    default = await ActivityEnvironment().run(activities.compute_deadline, elsewhere)
    assert default.due_at == at("2026-07-01T14:00+08:00")


async def test_extension_and_suspension_activities(sessions: async_sessionmaker[AsyncSession]) -> None:
    activities = ClockActivities(sessions)
    clock = ClockSpec(started_at=at("2026-11-02T10:00+08:00"), limit=5, unit=ClockUnit.WORKING_DAYS)
    extended = await ActivityEnvironment().run(activities.apply_extension, DeadlineExtension(clock=clock, extension=2))
    assert extended.schedule.deadline.due_at == at("2026-11-11T17:30+08:00")
    pause = Pause(started_at=at("2026-11-03T09:00+08:00"), ended_at=at("2026-11-04T09:00+08:00"))
    suspended = await ActivityEnvironment().run(
        activities.apply_suspension, DeadlineSuspension(clock=extended.clock, pause=pause)
    )
    assert suspended.previous_due_at == at("2026-11-11T17:30+08:00")
    assert suspended.schedule.deadline.due_at == at("2026-11-12T17:30+08:00")
    assert suspended.clock.pauses == [pause] and suspended.clock.extensions == [2]


async def test_bad_input_to_an_activity_is_a_final_validation_failure(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    activities = ClockActivities(sessions)
    clock = ClockSpec(
        started_at=at("2026-11-02T10:00+08:00"),
        limit=5,
        unit=ClockUnit.WORKING_DAYS,
        pauses=[Pause(started_at=at("2026-11-03T09:00+08:00"), ended_at=at("2026-11-05T09:00+08:00"))],
    )
    overlapping = Pause(started_at=at("2026-11-04T09:00+08:00"), ended_at=at("2026-11-06T09:00+08:00"))
    with pytest.raises(ApplicationError, match="pauses overlap") as raised:
        await ActivityEnvironment().run(activities.apply_suspension, DeadlineSuspension(clock=clock, pause=overlapping))
    assert raised.value.type == "ValidationFailed" and raised.value.non_retryable
    too_far = ClockSpec(started_at=at("2026-11-02T10:00+08:00"), limit=20000, unit=ClockUnit.WORKING_DAYS)
    with pytest.raises(ApplicationError, match="50 years") as raised:
        await ActivityEnvironment().run(activities.compute_deadline, too_far)
    assert raised.value.type == "ValidationFailed"


async def test_the_service_keeps_its_clock_until_an_import_changes_the_calendar(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    service = ClockService(sessions)
    clock = ClockSpec(started_at=at("2027-02-04T10:00+08:00"), limit=1, unit=ClockUnit.WORKING_DAYS, locality="411100")
    kept = await service.load("411100")
    assert await service.load("411100") is kept  # the stamp did not move: nothing is read again
    assert (await service.deadline(clock)).estimated

    await import_year(sessions, YEAR_2027)  # the very next deadline uses the override
    exact = await service.deadline(clock)
    assert not exact.estimated and exact.due_at == at("2027-02-15T17:30+08:00")

    async with sessions.begin() as session:  # office hours are part of the calendar's stamp too
        await CalendarRepository(session).replace_office_hours(SUMMER_HOURS, IMPORTED_AT)
    hours = clock.model_copy(update={"started_at": at("2026-07-01T11:30+08:00"), "unit": ClockUnit.OFFICE_HOURS})
    assert (await service.deadline(hours)).due_at == at("2026-07-01T15:00+08:00")
    assert await service.load("411100") is await service.load("411100")


async def test_an_import_in_another_process_reaches_a_kept_clock(store_url: str) -> None:
    """Two engines stand for two processes: the worker's kept clock sees the CLI's import at once."""
    worker_engine, cli_engine = create_engine(store_url), create_engine(store_url)
    try:
        service = ClockService(create_session_factory(worker_engine))
        clock = ClockSpec(started_at=at("2027-02-04T10:00+08:00"), limit=1, unit=ClockUnit.WORKING_DAYS)
        assert (await service.deadline(clock)).estimated
        await import_year(create_session_factory(cli_engine), YEAR_2027)
        assert (await service.deadline(clock)).due_at == at("2027-02-15T17:30+08:00")
    finally:
        await worker_engine.dispose()
        await cli_engine.dispose()
