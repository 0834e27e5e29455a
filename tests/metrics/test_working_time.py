"""Working hours between two instants on the legal calendar: office hours of working days only."""

from __future__ import annotations

from datetime import datetime

from schemas.clock import SHANGHAI
from services.clock.calendar import LegalCalendar
from services.clock.deadline import LegalClock
from services.clock.office_hours import OfficeHours
from services.clock.working_time import working_hours_between

CLOCK = LegalClock(LegalCalendar(), OfficeHours())  # 08:30–12:00 and 13:30–17:30


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def test_a_weekend_and_the_hours_outside_the_office_count_nothing() -> None:
    # Friday 16:00 to Monday 09:30: 1.5 h on Friday, 1 h on Monday.
    assert working_hours_between(CLOCK, at(27, 16), at(30, 9, 30)) == 2.5


def test_the_lunch_break_and_the_evening_count_nothing() -> None:
    assert working_hours_between(CLOCK, at(23, 11), at(23, 14)) == 1.5
    assert working_hours_between(CLOCK, at(23, 17), at(24, 8)) == 0.5


def test_a_statutory_holiday_counts_nothing() -> None:
    # National Day 2026: from Monday 28 September to Thursday 8 October 08:30 only 28, 29 and 30 September count.
    assert working_hours_between(CLOCK, at(28, 8, 30, month=9), at(8, 8, 30, month=10)) == 3 * 7.5


def test_an_end_before_the_start_is_no_time() -> None:
    assert working_hours_between(CLOCK, at(24, 10), at(23, 10)) == 0
