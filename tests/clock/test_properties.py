"""Properties of every deadline: never before the start, never on a day off for working-day and office-hour limits,
monotonic in the limit, unchanged by a pause of zero length; and the rungs never before the start."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from schemas.clock import SHANGHAI, CardProfileName, ClockSpec, ClockUnit, Pause
from services.clock.calendar import LegalCalendar
from services.clock.deadline import LegalClock
from services.clock.office_hours import OfficeHours
from services.clock.profiles import schedule_rungs

CLOCK = LegalClock(LegalCalendar(), OfficeHours())
CHECKS = settings(max_examples=150)

# 2024..2027: official years with every kind of holiday, and one estimated year.
starts = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(SHANGHAI))
day_units = st.sampled_from([ClockUnit.WORKING_DAYS, ClockUnit.NATURAL_DAYS])
hour_units = st.sampled_from([ClockUnit.OFFICE_HOURS, ClockUnit.NATURAL_HOURS])


@st.composite
def limits(draw: st.DrawFn) -> tuple[ClockUnit, float]:
    if draw(st.booleans()):
        return draw(day_units), float(draw(st.integers(min_value=1, max_value=40)))
    return draw(hour_units), draw(st.integers(min_value=1, max_value=120)) / 2


def due(start: datetime, unit: ClockUnit, limit: float, pauses: list[Pause] | None = None) -> datetime:
    return CLOCK.deadline(ClockSpec(started_at=start, limit=limit, unit=unit, pauses=pauses or [])).due_at


@CHECKS
@given(start=starts, limit=limits())
def test_never_before_the_start(start: datetime, limit: tuple[ClockUnit, float]) -> None:
    unit, amount = limit
    assert due(start, unit, amount) > start


@CHECKS
@given(
    start=starts,
    unit=st.sampled_from([ClockUnit.WORKING_DAYS, ClockUnit.OFFICE_HOURS]),
    half_units=st.integers(min_value=1, max_value=60),
)
def test_working_and_office_limits_end_on_a_working_day(start: datetime, unit: ClockUnit, half_units: int) -> None:
    amount = float(half_units) if unit is ClockUnit.WORKING_DAYS else half_units / 2
    instant = due(start, unit, amount)
    assert CLOCK.calendar.is_working(instant.date())
    opens, closes = CLOCK.office_hours.opening(instant.date()), CLOCK.office_hours.closing(instant.date())
    assert opens < instant <= closes


@CHECKS
@given(start=starts, limit=limits())
def test_monotonic_in_the_limit(start: datetime, limit: tuple[ClockUnit, float]) -> None:
    unit, amount = limit
    step = 1.0 if unit.counts_days else 0.5
    shorter, longer = due(start, unit, amount), due(start, unit, amount + step)
    assert shorter <= longer
    if unit in (ClockUnit.WORKING_DAYS, ClockUnit.OFFICE_HOURS, ClockUnit.NATURAL_HOURS):
        assert shorter < longer


@CHECKS
@given(start=starts, limit=limits(), offset=st.integers(min_value=-3 * 24 * 60, max_value=60 * 24 * 60))
def test_a_pause_of_zero_length_changes_nothing(start: datetime, limit: tuple[ClockUnit, float], offset: int) -> None:
    unit, amount = limit
    instant = start + timedelta(minutes=offset)
    assert due(start, unit, amount, [Pause(started_at=instant, ended_at=instant)]) == due(start, unit, amount)


@CHECKS
@given(start=starts, limit=limits(), paused_minutes=st.integers(min_value=1, max_value=20 * 24 * 60))
def test_a_pause_never_brings_the_deadline_forward(
    start: datetime, limit: tuple[ClockUnit, float], paused_minutes: int
) -> None:
    unit, amount = limit
    pause = Pause(started_at=start + timedelta(hours=1), ended_at=start + timedelta(hours=1, minutes=paused_minutes))
    assert due(start, unit, amount, [pause]) >= due(start, unit, amount)


@CHECKS
@given(start=starts, limit=limits(), profile=st.sampled_from(list(CardProfileName)))
def test_rungs_are_in_order_and_never_before_the_start(
    start: datetime, limit: tuple[ClockUnit, float], profile: CardProfileName
) -> None:
    unit, amount = limit
    schedule = schedule_rungs(CLOCK, ClockSpec(started_at=start, limit=amount, unit=unit), profile)
    instants = [rung.at for rung in schedule.rungs]
    assert instants == sorted(instants)
    assert all(instant >= start for instant in instants)
    assert set(schedule.deadline.estimated_years) <= set(schedule.estimated_years)


@CHECKS
@given(start=starts, limit=limits())
# Due on 2026-12-31 at 14:00: counting the pauses once read on into 2027 (1 January) and marked it estimated.
@example(start=datetime(2026, 12, 24, 17, 0, tzinfo=SHANGHAI), limit=(ClockUnit.OFFICE_HOURS, 34.5))
def test_a_deadline_reaching_an_unpublished_year_says_so(start: datetime, limit: tuple[ClockUnit, float]) -> None:
    unit, amount = limit
    deadline = CLOCK.deadline(ClockSpec(started_at=start, limit=amount, unit=unit))
    if unit is not ClockUnit.NATURAL_HOURS and deadline.last_day.year >= 2027:
        assert deadline.estimated and deadline.last_day.year in deadline.estimated_years
    if deadline.last_day.year <= 2026:
        assert not deadline.estimated


def test_a_paused_deadline_on_the_last_day_of_a_published_year_is_not_estimated() -> None:
    start = datetime(2026, 12, 24, 17, 0, tzinfo=SHANGHAI)
    pause = Pause(
        started_at=datetime(2026, 12, 25, 9, 0, tzinfo=SHANGHAI),
        ended_at=datetime(2026, 12, 25, 11, 0, tzinfo=SHANGHAI),
    )
    deadline = CLOCK.deadline(ClockSpec(started_at=start, limit=32.5, unit=ClockUnit.OFFICE_HOURS, pauses=[pause]))
    assert deadline.last_day.isoformat() == "2026-12-31" and deadline.due_at.hour < 17
    assert not deadline.estimated and deadline.estimated_years == []
