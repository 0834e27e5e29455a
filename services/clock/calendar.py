"""The legal calendar: which days are working days, from operator overrides, official notices, or an estimate.

A year's days come from exactly one source, in this order: an operator override imported into the store, the
State Council notices carried by `chinesecalendar`, or an estimate from weekends and the statutory holidays the
law defines (computed by `holidays`, lunar dates included). Estimated years are reported, never passed off as exact.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar
import holidays

from schemas.clock import CalendarSource, CalendarYear, DayKind, NamedDay


@dataclass(frozen=True)
class CalendarDay:
    day: date
    working: bool
    kind: DayKind | None  # None: an ordinary weekday at work
    reason: str | None
    source: CalendarSource

    @property
    def estimated(self) -> bool:
        return self.source is CalendarSource.ESTIMATED


@dataclass(frozen=True)
class _YearTable:
    year: CalendarYear
    days_off: Mapping[date, str]
    makeup_workdays: Mapping[date, str]


def _table(year: CalendarYear) -> _YearTable:
    return _YearTable(
        year=year,
        days_off={named.day: named.name for named in year.days_off},
        makeup_workdays={named.day: named.name for named in year.makeup_workdays},
    )


@lru_cache(maxsize=64)
def _official_year(year: int) -> _YearTable | None:
    """The year as published by the State Council, or None when chinesecalendar does not carry it."""
    try:
        chinese_calendar.get_holiday_detail(date(year, 1, 1))
    except NotImplementedError:
        return None
    return _table(
        CalendarYear(
            year=year,
            source=CalendarSource.OFFICIAL,
            label=f"State Council notice (chinesecalendar {chinese_calendar.__version__})",
            days_off=[
                NamedDay(day=d, name=name) for d, name in sorted(chinese_calendar.holidays.items()) if d.year == year
            ],
            makeup_workdays=[
                NamedDay(day=d, name=name) for d, name in sorted(chinese_calendar.workdays.items()) if d.year == year
            ],
        )
    )


@lru_cache(maxsize=64)
def _estimated_year(year: int) -> _YearTable:
    """Weekends plus the statutory holidays the law defines; make-up days only where the package knows them."""
    statutory = holidays.country_holidays("CN", years=year)
    return _table(
        CalendarYear(
            year=year,
            source=CalendarSource.ESTIMATED,
            label=f"weekends and the statutory holidays of the law (holidays {holidays.__version__})",
            days_off=[NamedDay(day=d, name=str(name)) for d, name in sorted(statutory.items())],
            makeup_workdays=[
                NamedDay(day=d, name="make-up working day")
                for d in sorted(getattr(statutory, "weekend_workdays", ()))
                if d.year == year
            ],
        )
    )


class LegalCalendar:
    """Answers 'is this a working day, and why not' for any date, with the overrides of one store."""

    def __init__(self, overrides: Mapping[int, CalendarYear] | None = None) -> None:
        self._overrides = {year: _table(data) for year, data in (overrides or {}).items()}
        self._trackers: list[set[int]] = []

    def year(self, year: int) -> CalendarYear:
        return self._year_table(year).year

    def _year_table(self, year: int) -> _YearTable:
        return self._overrides.get(year) or _official_year(year) or _estimated_year(year)

    def day(self, day: date) -> CalendarDay:
        table = self._year_table(day.year)
        source = table.year.source
        if source is CalendarSource.ESTIMATED:
            for found in self._trackers:
                found.add(day.year)
        if day in table.makeup_workdays:
            return CalendarDay(day, True, DayKind.MAKEUP_WORKDAY, table.makeup_workdays[day], source)
        if day in table.days_off:
            return CalendarDay(day, False, DayKind.HOLIDAY, table.days_off[day], source)
        if day.weekday() >= 5:
            return CalendarDay(day, False, DayKind.WEEKEND, "weekend", source)
        return CalendarDay(day, True, None, None, source)

    def is_working(self, day: date) -> bool:
        return self.day(day).working

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        candidate = day + timedelta(days=1)
        while not self.is_working(candidate):
            candidate += timedelta(days=1)
        return candidate

    @contextmanager
    def estimates(self) -> Iterator[set[int]]:
        """Collects the estimated years consulted inside the block."""
        found: set[int] = set()
        self._trackers.append(found)
        try:
            yield found
        finally:
            self._trackers.remove(found)
