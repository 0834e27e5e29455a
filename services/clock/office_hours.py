"""Office hours of a locality on a given day: the parts of the day the office is open, with seasonal variants."""

from __future__ import annotations

from datetime import date, datetime, time

from schemas.clock import SHANGHAI, OfficeHoursOverride, parse_office_part


class OfficeHours:
    """The default hours (08:30–12:00, 13:30–17:30) unless the locality's own were imported."""

    def __init__(self, override: OfficeHoursOverride | None = None) -> None:
        self._override = override or OfficeHoursOverride(locality="default")
        self._default = [parse_office_part(part) for part in self._override.hours]
        self._seasons = [
            (season, [parse_office_part(part) for part in season.hours]) for season in self._override.seasons
        ]

    @property
    def locality(self) -> str:
        return self._override.locality

    def _times(self, day: date) -> list[tuple[time, time]]:
        for season, parts in self._seasons:
            if season.covers(day):
                return parts
        return self._default

    def parts(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open parts of `day` as instants, in order (whether `day` is a working day is the calendar's call)."""
        return [
            (datetime.combine(day, opens, SHANGHAI), datetime.combine(day, closes, SHANGHAI))
            for opens, closes in self._times(day)
        ]

    def opening(self, day: date) -> datetime:
        return self.parts(day)[0][0]

    def closing(self, day: date) -> datetime:
        return self.parts(day)[-1][1]
