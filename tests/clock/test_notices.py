"""Table tests against the State Council notices for 2025 and 2026: every day off, every make-up day, and deadlines
across Spring Festival, Qingming, Labour Day, Dragon Boat, Mid-Autumn and National Day."""

from __future__ import annotations

from datetime import date

import pytest

from schemas.clock import CalendarSource, ClockSpec, ClockUnit
from services.clock.deadline import LegalClock
from tests.clock.conftest import at, days

# 国办发明电〔2024〕12号 (2025) and the notice of 2025-11-04 (2026), as listed in domain-research.md §7.
DAYS_OFF = {
    2025: [
        *days("2025-01-01", "2025-01-01"),
        *days("2025-01-28", "2025-02-04"),
        *days("2025-04-04", "2025-04-06"),
        *days("2025-05-01", "2025-05-05"),
        *days("2025-05-31", "2025-06-02"),
        *days("2025-10-01", "2025-10-08"),
    ],
    2026: [
        *days("2026-01-01", "2026-01-03"),
        *days("2026-02-15", "2026-02-23"),
        *days("2026-04-04", "2026-04-06"),
        *days("2026-05-01", "2026-05-05"),
        *days("2026-06-19", "2026-06-21"),
        *days("2026-09-25", "2026-09-27"),
        *days("2026-10-01", "2026-10-07"),
    ],
}
MAKEUP_WORKDAYS = {
    2025: [date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28), date(2025, 10, 11)],
    2026: [
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ],
}


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_year_is_the_notice(legal_clock: LegalClock, year: int) -> None:
    data = legal_clock.calendar.year(year)
    assert data.source is CalendarSource.OFFICIAL
    assert [named.day for named in data.days_off] == DAYS_OFF[year]
    assert [named.day for named in data.makeup_workdays] == MAKEUP_WORKDAYS[year]
    for day in DAYS_OFF[year]:
        assert not legal_clock.calendar.is_working(day), day
    for day in MAKEUP_WORKDAYS[year]:
        assert day.weekday() >= 5 and legal_clock.calendar.is_working(day), day


@pytest.mark.parametrize(
    ("received", "limit", "due"),
    [
        # Spring Festival 2025: Sunday 01-26 is a make-up day, 01-28..02-04 off.
        ("2025-01-24T10:00+08:00", 1, "2025-01-26T17:30+08:00"),
        ("2025-01-24T10:00+08:00", 3, "2025-02-05T17:30+08:00"),
        ("2025-02-06T09:00+08:00", 2, "2025-02-08T17:30+08:00"),  # Saturday 02-08 is worked
        # Qingming 2025
        ("2025-04-03T16:00+08:00", 1, "2025-04-07T17:30+08:00"),
        # Labour Day 2025: Sunday 04-27 worked, 05-01..05-05 off.
        ("2025-04-25T10:00+08:00", 2, "2025-04-28T17:30+08:00"),
        ("2025-04-30T10:00+08:00", 1, "2025-05-06T17:30+08:00"),
        # Dragon Boat 2025
        ("2025-05-30T10:00+08:00", 1, "2025-06-03T17:30+08:00"),
        # National Day and Mid-Autumn 2025: Sunday 09-28 worked, 10-01..10-08 off, Saturday 10-11 worked.
        ("2025-09-26T10:00+08:00", 2, "2025-09-29T17:30+08:00"),
        ("2025-09-30T16:00+08:00", 2, "2025-10-10T17:30+08:00"),
        ("2025-09-30T16:00+08:00", 3, "2025-10-11T17:30+08:00"),
        # New Year 2026: 01-01..01-03 off, Sunday 01-04 worked.
        ("2025-12-31T10:00+08:00", 1, "2026-01-04T17:30+08:00"),
        # Spring Festival 2026: Saturdays 02-14 and 02-28 worked, 02-15..02-23 off.
        ("2026-02-13T10:00+08:00", 1, "2026-02-14T17:30+08:00"),
        ("2026-02-13T10:00+08:00", 2, "2026-02-24T17:30+08:00"),
        ("2026-02-27T10:00+08:00", 1, "2026-02-28T17:30+08:00"),
        # Qingming 2026
        ("2026-04-03T10:00+08:00", 1, "2026-04-07T17:30+08:00"),
        # Labour Day 2026: 05-01..05-05 off, Saturday 05-09 worked.
        ("2026-04-30T10:00+08:00", 1, "2026-05-06T17:30+08:00"),
        ("2026-04-30T10:00+08:00", 4, "2026-05-09T17:30+08:00"),
        # Dragon Boat 2026
        ("2026-06-18T10:00+08:00", 1, "2026-06-22T17:30+08:00"),
        # Mid-Autumn and National Day 2026: Sunday 09-20 worked, 09-25..09-27 and 10-01..10-07 off, Saturday 10-10
        # worked.
        ("2026-09-18T10:00+08:00", 1, "2026-09-20T17:30+08:00"),
        ("2026-09-24T10:00+08:00", 1, "2026-09-28T17:30+08:00"),
        ("2026-09-30T10:00+08:00", 1, "2026-10-08T17:30+08:00"),
        ("2026-09-30T10:00+08:00", 3, "2026-10-10T17:30+08:00"),
        ("2026-09-24T10:00+08:00", 15, "2026-10-22T17:30+08:00"),
    ],
)
def test_working_day_deadlines(legal_clock: LegalClock, received: str, limit: int, due: str) -> None:
    deadline = legal_clock.deadline(ClockSpec(started_at=at(received), limit=limit, unit=ClockUnit.WORKING_DAYS))
    assert deadline.due_at == at(due)
    assert deadline.due_at.isoformat().endswith("+08:00")
    assert not deadline.estimated


def test_the_explanation_names_skipped_and_make_up_days(legal_clock: LegalClock) -> None:
    deadline = legal_clock.deadline(
        ClockSpec(started_at=at("2026-09-24T10:00+08:00"), limit=15, unit=ClockUnit.WORKING_DAYS)
    )
    lines = deadline.explanation
    assert lines[0] == "15 working days from 2026-09-24T10:00:00+08:00"
    assert "2026-09-24 day of receipt, not counted" in lines
    assert "2026-09-25 Mid-autumn Festival" in lines
    assert "2026-10-01 National Day" in lines
    assert "2026-10-10 make-up working day (National Day)" in lines
    assert "2026-10-11 weekend" in lines
    assert lines[-1] == "due at the close of office hours on 2026-10-22 (17:30)"
    counted = [note.day for note in deadline.notes if note.counted]
    assert counted == [date(2026, 10, 10)]


def test_office_hours_skip_the_holiday_week(legal_clock: LegalClock) -> None:
    deadline = legal_clock.deadline(
        ClockSpec(started_at=at("2026-09-30T17:00+08:00"), limit=1, unit=ClockUnit.OFFICE_HOURS)
    )
    assert deadline.due_at == at("2026-10-08T09:00+08:00")
    assert "2026-10-01 National Day" in deadline.explanation


def test_office_hours_count_the_make_up_saturday(legal_clock: LegalClock) -> None:
    deadline = legal_clock.deadline(
        ClockSpec(started_at=at("2026-10-09T17:00+08:00"), limit=3, unit=ClockUnit.OFFICE_HOURS)
    )
    assert deadline.due_at == at("2026-10-10T11:00+08:00")
    assert "2026-10-10 make-up working day (National Day)" in deadline.explanation


def test_natural_days_ending_in_the_holiday_move_to_the_next_working_day(legal_clock: LegalClock) -> None:
    deadline = legal_clock.deadline(
        ClockSpec(started_at=at("2026-09-30T10:00+08:00"), limit=3, unit=ClockUnit.NATURAL_DAYS)
    )
    # 10-03 is the third day; it is off, so the limit ends at 24:00 of 10-08.
    assert deadline.due_at == at("2026-10-09T00:00+08:00")
    assert deadline.last_day == date(2026, 10, 8)
    assert "2026-10-03 National Day" in deadline.explanation
    assert deadline.explanation[-1] == "due at 24:00 of 2026-10-08"
