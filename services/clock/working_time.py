"""Working time between two instants on the legal calendar: the office hours of the working days between them."""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas.clock import SHANGHAI
from services.clock.deadline import HORIZON, LegalClock


def working_hours_between(clock: LegalClock, start: datetime, end: datetime) -> float:
    """Office hours of working days from `start` to `end` (0 when end is not after start); weekends, holidays and
    time outside office hours count nothing, make-up working days count in full."""
    if end <= start:
        return 0.0
    end = min(end, start + HORIZON)
    total = timedelta(0)
    day, last = start.astimezone(SHANGHAI).date(), end.astimezone(SHANGHAI).date()
    while day <= last:
        if clock.calendar.is_working(day):
            for opens, closes in clock.office_hours.parts(day):
                overlap = min(closes, end) - max(opens, start)
                if overlap > timedelta(0):
                    total += overlap
        day += timedelta(days=1)
    return total / timedelta(hours=1)
