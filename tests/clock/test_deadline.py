"""The four units, pauses and extensions, estimated years and seasonal office hours, and the input rules."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from schemas.clock import (
    CalendarOverride,
    ClockSpec,
    ClockUnit,
    DayKind,
    DeadlineExtension,
    DeadlineSuspension,
    OfficeHoursOverride,
    Pause,
)
from services.clock import changes
from services.clock.calendar import LegalCalendar
from services.clock.deadline import LegalClock
from services.clock.errors import ClockInputError
from services.clock.office_hours import OfficeHours
from tests.clock.conftest import at


def spec(started_at: str, limit: float, unit: ClockUnit, **more: object) -> ClockSpec:
    return ClockSpec.model_validate({"started_at": at(started_at), "limit": limit, "unit": unit, **more})


def pause(started: str, ended: str) -> Pause:
    return Pause(started_at=at(started), ended_at=at(ended))


@pytest.mark.parametrize("hour", ["00:01", "08:00", "17:29", "23:59"])
def test_the_day_of_receipt_is_never_counted(legal_clock: LegalClock, hour: str) -> None:
    due = legal_clock.deadline(spec(f"2026-11-02T{hour}+08:00", 1, ClockUnit.WORKING_DAYS)).due_at
    assert due == at("2026-11-03T17:30+08:00")


def test_a_limit_received_on_a_weekend_counts_from_monday(legal_clock: LegalClock) -> None:
    due = legal_clock.deadline(spec("2026-11-07T10:00+08:00", 1, ClockUnit.WORKING_DAYS)).due_at
    assert due == at("2026-11-09T17:30+08:00")


def test_instants_in_other_zones_are_read_on_the_shanghai_wall_clock(legal_clock: LegalClock) -> None:
    # 2026-11-02T20:00Z is already Tuesday 04:00 in Shanghai, so Tuesday is the day of receipt.
    deadline = legal_clock.deadline(spec("2026-11-02T20:00+00:00", 1, ClockUnit.WORKING_DAYS))
    assert deadline.clock.started_at.isoformat() == "2026-11-03T04:00:00+08:00"
    assert deadline.due_at == at("2026-11-04T17:30+08:00")


@pytest.mark.parametrize(
    ("started", "hours", "due"),
    [
        ("2026-11-02T09:00+08:00", 0.5, "2026-11-02T09:30+08:00"),
        ("2026-11-02T11:50+08:00", 1, "2026-11-02T14:20+08:00"),  # the lunch break does not count
        ("2026-11-02T11:30+08:00", 0.5, "2026-11-02T12:00+08:00"),  # ends at the break, not after it
        ("2026-11-02T07:00+08:00", 1, "2026-11-02T09:30+08:00"),  # starts at the next opening
        ("2026-11-02T12:30+08:00", 0.5, "2026-11-02T14:00+08:00"),
        ("2026-11-02T16:00+08:00", 3, "2026-11-03T10:00+08:00"),
        ("2026-11-06T17:00+08:00", 1, "2026-11-09T09:00+08:00"),  # over the weekend
        ("2026-11-07T10:00+08:00", 0.5, "2026-11-09T09:00+08:00"),  # started on a Saturday
    ],
)
def test_office_hours(legal_clock: LegalClock, started: str, hours: float, due: str) -> None:
    assert legal_clock.deadline(spec(started, hours, ClockUnit.OFFICE_HOURS)).due_at == at(due)


def test_natural_hours_run_through_nights_and_weekends(legal_clock: LegalClock) -> None:
    deadline = legal_clock.deadline(spec("2026-11-06T22:00+08:00", 24, ClockUnit.NATURAL_HOURS))
    assert deadline.due_at == at("2026-11-07T22:00+08:00")
    assert deadline.notes == []


def test_natural_days_end_at_midnight(legal_clock: LegalClock) -> None:
    deadline = legal_clock.deadline(spec("2026-11-02T15:00+08:00", 3, ClockUnit.NATURAL_DAYS))
    assert deadline.due_at == at("2026-11-06T00:00+08:00")
    assert deadline.last_day == date(2026, 11, 5)


def test_natural_days_ending_on_a_weekend_move_to_monday(legal_clock: LegalClock) -> None:
    deadline = legal_clock.deadline(spec("2026-11-02T15:00+08:00", 5, ClockUnit.NATURAL_DAYS))
    assert deadline.due_at == at("2026-11-10T00:00+08:00")
    assert [note.line for note in deadline.notes if note.kind is DayKind.WEEKEND] == [
        "2026-11-07 weekend",
        "2026-11-08 weekend",
    ]


@pytest.mark.parametrize(
    ("paused", "due"),
    [
        # Monday 09:00 to Thursday 09:00: Monday, Tuesday and Wednesday are paused.
        (("2026-11-02T09:00+08:00", "2026-11-05T09:00+08:00"), "2026-11-18T17:30+08:00"),
        # Inside one day: no day is lost.
        (("2026-11-02T09:00+08:00", "2026-11-02T16:00+08:00"), "2026-11-13T17:30+08:00"),
        # Starting after Monday's close: Monday still counted, Tuesday paused.
        (("2026-11-02T18:00+08:00", "2026-11-04T09:00+08:00"), "2026-11-16T17:30+08:00"),
        # Over a weekend only: nothing counted is lost.
        (("2026-11-07T09:00+08:00", "2026-11-09T08:00+08:00"), "2026-11-13T17:30+08:00"),
        # Before the start: the clock was not running.
        (("2026-10-20T09:00+08:00", "2026-10-29T09:00+08:00"), "2026-11-13T17:30+08:00"),
    ],
)
def test_a_pause_moves_a_working_day_limit_by_the_paused_working_days(
    legal_clock: LegalClock, paused: tuple[str, str], due: str
) -> None:
    clock = spec("2026-10-30T10:00+08:00", 10, ClockUnit.WORKING_DAYS, pauses=[pause(*paused)])
    assert legal_clock.deadline(clock).due_at == at(due)


def test_a_pause_moves_a_natural_day_limit_by_whole_days(legal_clock: LegalClock) -> None:
    plain = spec("2026-11-02T15:00+08:00", 3, ClockUnit.NATURAL_DAYS)
    assert legal_clock.deadline(plain).due_at == at("2026-11-06T00:00+08:00")
    paused = plain.model_copy(update={"pauses": [pause("2026-11-03T09:00+08:00", "2026-11-05T09:00+08:00")]})
    deadline = legal_clock.deadline(paused)
    # 11-03 and 11-04 are paused; 11-05..11-07 count, and Saturday 11-07 moves the end to Monday.
    assert deadline.due_at == at("2026-11-10T00:00+08:00")
    assert [note.day.day for note in deadline.notes if note.kind is DayKind.PAUSED] == [3, 4]


def test_a_pause_moves_an_office_hour_limit_by_the_paused_office_time(legal_clock: LegalClock) -> None:
    clock = spec(
        "2026-11-02T09:00+08:00",
        3,
        ClockUnit.OFFICE_HOURS,
        pauses=[pause("2026-11-02T10:00+08:00", "2026-11-02T14:00+08:00")],
    )
    deadline = legal_clock.deadline(clock)
    # 1 h before the pause, the 2 h paused morning and 0.5 h of the afternoon are out; 2 h more from 14:00.
    assert deadline.due_at == at("2026-11-02T16:00+08:00")
    assert "paused 2.5 h of office hours" in deadline.explanation


def test_a_pause_moves_a_natural_hour_limit_by_the_paused_time(legal_clock: LegalClock) -> None:
    clock = spec(
        "2026-11-02T09:00+08:00",
        2,
        ClockUnit.NATURAL_HOURS,
        pauses=[pause("2026-11-02T10:00+08:00", "2026-11-02T10:45+08:00")],
    )
    assert legal_clock.deadline(clock).due_at == at("2026-11-02T11:45+08:00")


def test_an_extension_adds_time_in_the_limits_unit(legal_clock: LegalClock) -> None:
    clock = spec("2026-11-02T09:00+08:00", 5, ClockUnit.WORKING_DAYS)
    change = changes.extend(legal_clock, DeadlineExtension(clock=clock, extension=3))
    assert change.previous_due_at == at("2026-11-09T17:30+08:00")
    assert change.schedule.deadline.due_at == at("2026-11-12T17:30+08:00")
    assert change.clock.extensions == [3]
    assert change.explanation == "extended by 3 working days: due 2026-11-09T17:30:00+08:00 → 2026-11-12T17:30:00+08:00"
    assert change.schedule.deadline.explanation[0] == "8 working days from 2026-11-02T09:00:00+08:00 (5 + 3 extended)"


def test_an_extension_of_an_office_hour_limit(legal_clock: LegalClock) -> None:
    clock = spec("2026-11-02T09:00+08:00", 1, ClockUnit.OFFICE_HOURS)
    change = changes.extend(legal_clock, DeadlineExtension(clock=clock, extension=0.5))
    assert change.schedule.deadline.due_at == at("2026-11-02T10:30+08:00")


def test_a_suspension_says_which_days_it_took(legal_clock: LegalClock) -> None:
    clock = spec("2026-10-30T10:00+08:00", 10, ClockUnit.WORKING_DAYS)
    change = changes.suspend(
        legal_clock,
        DeadlineSuspension(clock=clock, pause=pause("2026-11-02T09:00+08:00", "2026-11-05T09:00+08:00")),
    )
    assert change.schedule.deadline.due_at == at("2026-11-18T17:30+08:00")
    assert "3 working days paused (2026-11-02, 2026-11-03, 2026-11-04)" in change.explanation
    assert change.explanation.endswith("due 2026-11-13T17:30:00+08:00 → 2026-11-18T17:30:00+08:00")


def test_a_suspension_of_an_hour_limit_says_how_long(legal_clock: LegalClock) -> None:
    clock = spec("2026-11-02T09:00+08:00", 3, ClockUnit.OFFICE_HOURS)
    change = changes.suspend(
        legal_clock, DeadlineSuspension(clock=clock, pause=pause("2026-11-02T10:00+08:00", "2026-11-02T10:30+08:00"))
    )
    assert "0.5 h paused" in change.explanation


def test_an_overlapping_suspension_is_refused(legal_clock: LegalClock) -> None:
    clock = spec(
        "2026-10-30T10:00+08:00",
        10,
        ClockUnit.WORKING_DAYS,
        pauses=[pause("2026-11-02T09:00+08:00", "2026-11-04T09:00+08:00")],
    )
    with pytest.raises(ValidationError, match="pauses overlap"):
        changes.suspend(
            legal_clock,
            DeadlineSuspension(clock=clock, pause=pause("2026-11-03T09:00+08:00", "2026-11-05T09:00+08:00")),
        )


def test_a_year_without_notice_or_override_is_estimated(legal_clock: LegalClock) -> None:
    deadline = legal_clock.deadline(spec("2026-12-24T10:00+08:00", 15, ClockUnit.WORKING_DAYS))
    assert deadline.estimated
    assert deadline.estimated_years == [2027]
    assert "2027-01-01 New Year's Day (estimated)" in deadline.explanation
    assert deadline.explanation[-1].startswith("estimated: no official notice and no override for 2027")


def test_a_year_far_ahead_is_estimated_with_its_lunar_holidays(legal_clock: LegalClock) -> None:
    # Spring Festival 2031 falls on 01-23 (lunar new year), computed by the holidays package.
    deadline = legal_clock.deadline(spec("2031-01-21T10:00+08:00", 2, ClockUnit.WORKING_DAYS))
    assert deadline.estimated_years == [2031]
    assert any("Spring Festival" in note.reason for note in deadline.notes if note.day == date(2031, 1, 23))


def test_a_deadline_inside_an_official_year_is_exact(legal_clock: LegalClock) -> None:
    deadline = legal_clock.deadline(spec("2026-11-02T10:00+08:00", 5, ClockUnit.WORKING_DAYS))
    assert not deadline.estimated and deadline.estimated_years == []


def test_an_override_makes_a_year_exact_and_wins_over_the_estimate() -> None:
    override = CalendarOverride.model_validate(
        {
            "year": 2027,
            "source": "test notice",
            "holidays": [{"name": "New Year's Day", "from": "2027-01-01", "to": "2027-01-04"}],
            "makeup_workdays": [{"name": "New Year's Day", "dates": ["2027-01-09"]}],
        }
    )
    clock = LegalClock(LegalCalendar({2027: override.to_year()}), OfficeHours())
    deadline = clock.deadline(spec("2026-12-31T10:00+08:00", 1, ClockUnit.WORKING_DAYS))
    assert deadline.due_at == at("2027-01-05T17:30+08:00")  # 01-04 is off in the override
    assert not deadline.estimated
    saturday = clock.deadline(spec("2027-01-08T10:00+08:00", 1, ClockUnit.WORKING_DAYS))
    assert saturday.due_at == at("2027-01-09T17:30+08:00")


def test_seasonal_office_hours_of_a_locality() -> None:
    hours = OfficeHoursOverride.model_validate(
        {
            "locality": 411100,
            "hours": ["08:30-12:00", "14:00-17:00"],
            "seasons": [{"name": "summer", "from": "05-01", "to": "09-30", "hours": ["08:30-12:00", "14:30-17:30"]}],
        }
    )
    clock = LegalClock(LegalCalendar(), OfficeHours(hours))
    assert hours.locality == "411100"
    summer = clock.deadline(spec("2026-06-01T11:30+08:00", 1, ClockUnit.OFFICE_HOURS, locality="411100"))
    assert summer.due_at == at("2026-06-01T15:00+08:00")
    winter = clock.deadline(spec("2026-11-02T11:30+08:00", 1, ClockUnit.OFFICE_HOURS, locality="411100"))
    assert winter.due_at == at("2026-11-02T14:30+08:00")
    assert clock.deadline(spec("2026-11-02T10:00+08:00", 1, ClockUnit.WORKING_DAYS)).due_at == at(
        "2026-11-03T17:00+08:00"
    )


def test_a_season_may_wrap_the_new_year() -> None:
    hours = OfficeHoursOverride.model_validate(
        {"locality": "x", "seasons": [{"name": "winter", "from": "11-01", "to": "02-28", "hours": ["09:00-17:00"]}]}
    )
    office = OfficeHours(hours)
    assert office.closing(date(2027, 1, 15)).hour == 17
    assert office.closing(date(2026, 6, 15)).hour == 17 and office.closing(date(2026, 6, 15)).minute == 30


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"started_at": "2026-11-02T10:00", "limit": 1, "unit": "working-days"}, "timezone"),
        ({"started_at": "2026-11-02T10:00+08:00", "limit": 0, "unit": "working-days"}, "greater than 0"),
        ({"started_at": "2026-11-02T10:00+08:00", "limit": -3, "unit": "office-hours"}, "greater than 0"),
        ({"started_at": "2026-11-02T10:00+08:00", "limit": 1.5, "unit": "working-days"}, "whole number"),
        ({"started_at": "2026-11-02T10:00+08:00", "limit": 1, "unit": "fortnights"}, "working-days"),
        (
            {
                "started_at": "2026-11-02T10:00+08:00",
                "limit": 1,
                "unit": "working-days",
                "pauses": [{"started_at": "2026-11-03T10:00+08:00", "ended_at": "2026-11-02T10:00+08:00"}],
            },
            "before it starts",
        ),
        (
            {
                "started_at": "2026-11-02T10:00+08:00",
                "limit": 1,
                "unit": "working-days",
                "pauses": [
                    {"started_at": "2026-11-02T10:00+08:00", "ended_at": "2026-11-04T10:00+08:00"},
                    {"started_at": "2026-11-03T10:00+08:00", "ended_at": "2026-11-05T10:00+08:00"},
                ],
            },
            "pauses overlap",
        ),
        ({"started_at": "2026-11-02T10:00+08:00", "limit": 1, "unit": "working-days", "extensions": [0]}, "extension"),
    ],
)
def test_bad_input_is_refused_with_a_reason(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ClockSpec.model_validate(fields)


def test_pauses_that_touch_do_not_overlap() -> None:
    clock = spec(
        "2026-11-02T10:00+08:00",
        1,
        ClockUnit.WORKING_DAYS,
        pauses=[
            pause("2026-11-04T10:00+08:00", "2026-11-05T10:00+08:00"),
            pause("2026-11-02T10:00+08:00", "2026-11-04T10:00+08:00"),
        ],
    )
    assert [p.started_at.day for p in clock.pauses] == [2, 4]


def test_a_limit_beyond_the_horizon_is_refused(legal_clock: LegalClock) -> None:
    with pytest.raises(ClockInputError, match="50 years"):
        legal_clock.deadline(spec("2026-11-02T10:00+08:00", 20000, ClockUnit.WORKING_DAYS))
