"""Helpers for the legal clock's tests: instants on the Shanghai wall clock and a clock without overrides."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from services.clock.calendar import LegalCalendar
from services.clock.deadline import LegalClock
from services.clock.office_hours import OfficeHours


def at(text: str) -> datetime:
    """An ISO time that must carry its zone, as every input to the clock does."""
    instant = datetime.fromisoformat(text)
    assert instant.tzinfo is not None
    return instant


def days(first: str, last: str) -> list[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


@pytest.fixture(scope="session")
def legal_clock() -> LegalClock:
    """The official calendar (chinesecalendar), estimates beyond it, default office hours."""
    return LegalClock(LegalCalendar(), OfficeHours())
