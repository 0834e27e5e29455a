"""Deadline arithmetic on the legal calendar for the four units, with pauses and extensions.

Every limit is a walk over the stretches of time its clock runs in:
- working days: the working days after the day of receipt, each counted from opening to close of office hours;
- natural days: the days after the day of receipt, each from 00:00 to 24:00;
- office hours: the open parts of working days, from the start on;
- natural hours: all of the time from the start on.

A pause removes time from the walk. Day units lose whole days: every day from the day the pause starts (when it
starts before that day's end) up to, not including, the day it ends; so a pause from Monday 09:00 to Thursday 09:00
removes three days, a pause inside one day removes none. Hour units lose exactly the paused time they would
have counted. Extensions lengthen the limit in its own unit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from schemas.clock import SHANGHAI, ClockSpec, ClockUnit, DayKind, DayNote, Deadline, Pause
from services.clock.calendar import LegalCalendar
from services.clock.errors import ClockInputError
from services.clock.office_hours import OfficeHours

# A walk that has not ended after this many days is a limit nobody means; stop with an error, not a hang.
HORIZON = timedelta(days=366 * 50)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), SHANGHAI)


def _minus_pauses(start: datetime, end: datetime, pauses: list[Pause]) -> Iterator[tuple[datetime, datetime]]:
    for pause in pauses:
        if pause.ended_at <= start or pause.started_at >= end:
            continue
        if pause.started_at > start:
            yield start, pause.started_at
        start = max(start, pause.ended_at)
        if start >= end:
            return
    yield start, end


def _walk(stretches: Iterator[tuple[datetime, datetime]], amount: timedelta) -> datetime:
    """The instant at which `amount` of counted time has run; a stretch's end when it runs out exactly there."""
    remaining = amount
    for start, end in stretches:
        if remaining <= end - start:
            return start + remaining
        remaining -= end - start
    raise ClockInputError("the deadline lies more than 50 years ahead")


def _hours(spec: ClockSpec) -> timedelta:
    """An hour limit as time; one past the horizon is refused before it could overflow a timedelta."""
    if spec.total_limit > HORIZON / timedelta(hours=1):
        raise ClockInputError("the deadline lies more than 50 years ahead")
    return timedelta(hours=spec.total_limit)


def _format_amount(amount: float) -> str:
    return str(int(amount)) if float(amount).is_integer() else str(amount)


@dataclass
class LegalClock:
    """The calendar and office hours that one computation runs on."""

    calendar: LegalCalendar
    office_hours: OfficeHours

    # Days, for day units.

    def day_end(self, unit: ClockUnit, day: date) -> datetime:
        """Where a counted day ends: the close of office hours for working days, 24:00 for natural days."""
        if unit is ClockUnit.WORKING_DAYS:
            return self.office_hours.closing(day)
        return midnight(day + timedelta(days=1))

    def day_stretches(self, unit: ClockUnit, day: date) -> list[tuple[datetime, datetime]]:
        if unit is ClockUnit.WORKING_DAYS:
            return self.office_hours.parts(day)
        return [(midnight(day), midnight(day + timedelta(days=1)))]

    def pause_of(self, spec: ClockSpec, day: date) -> Pause | None:
        for pause in spec.pauses:
            if pause.started_at < self.day_end(spec.unit, day) and pause.ended_at >= midnight(day + timedelta(days=1)):
                return pause
        return None

    def counted_days(self, spec: ClockSpec) -> Iterator[date]:
        """The days a day-unit limit counts, in order: after the day of receipt, not paused (and working, for WD)."""
        receipt = spec.started_at.date()
        day = receipt
        while True:
            day += timedelta(days=1)
            if day - receipt > HORIZON:
                raise ClockInputError("the deadline lies more than 50 years ahead")
            if spec.unit is ClockUnit.WORKING_DAYS and not self.calendar.is_working(day):
                continue
            if self.pause_of(spec, day) is None:
                yield day

    def nth_counted_day(self, spec: ClockSpec, n: int) -> date:
        for index, day in enumerate(self.counted_days(spec), start=1):
            if index == n:
                return day
        raise AssertionError("counted_days never ends")

    def working_day_after(self, day: date, n: int) -> date:
        """The n-th working day after `day` (n ≥ 1)."""
        for _ in range(n):
            day = self.calendar.next_working_day(day)
        return day

    # Stretches of counted time.

    def stretches(self, spec: ClockSpec) -> Iterator[tuple[datetime, datetime]]:
        """Every stretch of time the clock runs, in order, from its start."""
        if spec.unit.counts_days:
            for day in self.counted_days(spec):
                yield from self.day_stretches(spec.unit, day)
            return
        day = spec.started_at.date()
        while True:
            if day - spec.started_at.date() > HORIZON:
                raise ClockInputError("the deadline lies more than 50 years ahead")
            if spec.unit is ClockUnit.OFFICE_HOURS:
                parts = self.office_hours.parts(day) if self.calendar.is_working(day) else []
            else:
                parts = [(midnight(day), midnight(day + timedelta(days=1)))]
            for opens, closes in parts:
                if closes > spec.started_at:
                    yield from _minus_pauses(max(opens, spec.started_at), closes, spec.pauses)
            day += timedelta(days=1)

    def limit_span(self, spec: ClockSpec) -> timedelta:
        """The counted time the whole limit holds: its hours, or the open time of its counted days."""
        if not spec.unit.counts_days:
            return _hours(spec)
        total = timedelta(0)
        for index, day in enumerate(self.counted_days(spec), start=1):
            total += sum((end - start for start, end in self.day_stretches(spec.unit, day)), timedelta(0))
            if index == int(spec.total_limit):
                return total
        raise AssertionError("counted_days never ends")

    def elapsed(self, spec: ClockSpec, fraction: float) -> datetime:
        """The instant at which `fraction` of the limit has run (beyond 1.0 the count simply goes on)."""
        return _walk(self.stretches(spec), self.limit_span(spec) * fraction)

    # The deadline.

    def deadline(self, spec: ClockSpec) -> Deadline:
        with self.calendar.estimates() as estimated_years:
            if spec.unit.counts_days:
                due_at, last_day, notes, lines = self._day_deadline(spec)
            else:
                due_at, last_day, notes, lines = self._hour_deadline(spec)
        explanation = [_limit_line(spec), *(note.line for note in notes), *lines]
        if estimated_years:
            years = ", ".join(str(year) for year in sorted(estimated_years))
            explanation.append(
                f"estimated: no official notice and no override for {years}; "
                "days off there are weekends and the statutory holidays of the law"
            )
        return Deadline(
            clock=spec,
            due_at=due_at,
            last_day=last_day,
            estimated=bool(estimated_years),
            estimated_years=sorted(estimated_years),
            notes=notes,
            explanation=explanation,
        )

    def _day_deadline(self, spec: ClockSpec) -> tuple[datetime, date, list[DayNote], list[str]]:
        receipt = spec.started_at.date()
        last = self.nth_counted_day(spec, int(spec.total_limit))
        notes = [DayNote(day=receipt, kind=DayKind.RECEIPT, reason="day of receipt, not counted", counted=False)]
        day = receipt + timedelta(days=1)
        while day <= last:
            notes.extend(self._day_notes(spec, day))
            day += timedelta(days=1)
        if spec.unit is ClockUnit.WORKING_DAYS:
            due_at = self.office_hours.closing(last)
            return due_at, last, notes, [f"due at the close of office hours on {last} ({due_at:%H:%M})"]
        lines = []
        if not self.calendar.is_working(last):
            moved_to = self.calendar.next_working_day(last)
            lines.append(f"{last} is not a working day: the limit moves to the end of the next one, {moved_to}")
            while last < moved_to:
                info = self.calendar.day(last)
                kind = info.kind or DayKind.WEEKEND
                notes.append(
                    DayNote(day=last, kind=kind, reason=info.reason or "", counted=False, estimated=info.estimated)
                )
                last += timedelta(days=1)
        lines.append(f"due at 24:00 of {last}")
        return midnight(last + timedelta(days=1)), last, notes, lines

    def _day_notes(self, spec: ClockSpec, day: date) -> list[DayNote]:
        pause = self.pause_of(spec, day)
        if spec.unit is ClockUnit.NATURAL_DAYS:  # every day counts; only the last one asks the calendar
            return [] if pause is None else [_paused_note(day, pause, estimated=False)]
        info = self.calendar.day(day)
        if not info.working:
            kind = info.kind or DayKind.WEEKEND
            return [DayNote(day=day, kind=kind, reason=info.reason or "", counted=False, estimated=info.estimated)]
        if pause is not None:
            return [_paused_note(day, pause, estimated=info.estimated)]
        if info.kind is DayKind.MAKEUP_WORKDAY:
            reason = f"make-up working day ({info.reason})"
            return [DayNote(day=day, kind=info.kind, reason=reason, counted=True, estimated=info.estimated)]
        return []

    def _hour_deadline(self, spec: ClockSpec) -> tuple[datetime, date, list[DayNote], list[str]]:
        amount = _hours(spec)
        due_at = _walk(self.stretches(spec), amount)
        last_day = (due_at - timedelta(microseconds=1)).date() if due_at.time() == time(0) else due_at.date()
        notes: list[DayNote] = []
        lines: list[str] = []
        if spec.unit is ClockUnit.OFFICE_HOURS:
            day = spec.started_at.date()
            while day <= last_day:
                info = self.calendar.day(day)
                if info.kind is not None:
                    reason = info.reason or ""
                    if info.kind is DayKind.MAKEUP_WORKDAY:
                        reason = f"make-up working day ({reason})"
                    notes.append(
                        DayNote(day=day, kind=info.kind, reason=reason, counted=info.working, estimated=info.estimated)
                    )
                day += timedelta(days=1)
            paused = self.paused_time(spec, due_at)
            if paused:
                lines.append(f"paused {hours_text(paused)} of office hours")
            lines.append(f"due after {amount_words(spec.total_limit, spec.unit)}, at {due_at:%Y-%m-%d %H:%M}")
        else:
            paused = self.paused_time(spec, due_at)
            if paused:
                lines.append(f"paused {hours_text(paused)}")
            lines.append(f"due after {amount_words(spec.total_limit, spec.unit)}, at {due_at:%Y-%m-%d %H:%M}")
        return due_at, last_day, notes, lines

    def paused_time(self, spec: ClockSpec, due_at: datetime) -> timedelta:
        """Counted time the pauses took out between the start and the due instant.

        It reads no day past the stretch the due instant falls in: a day beyond it may lie in a year with no
        official notice, and reading it would mark a deadline estimated that no estimated day decides."""
        total = timedelta(0)
        if not spec.pauses:
            return total
        unpaused = spec.model_copy(update={"pauses": []})
        for start, end in self.stretches(unpaused):
            if start >= due_at:
                break
            for pause in spec.pauses:
                overlap = min(end, due_at, pause.ended_at) - max(start, pause.started_at)
                if overlap > timedelta(0):
                    total += overlap
            if end >= due_at:
                break
        return total


def _paused_note(day: date, pause: Pause, *, estimated: bool) -> DayNote:
    return DayNote(day=day, kind=DayKind.PAUSED, reason=f"paused ({pause.label})", counted=False, estimated=estimated)


def hours_text(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:g} h"


_UNIT_WORDS = {
    ClockUnit.WORKING_DAYS: "working days",
    ClockUnit.OFFICE_HOURS: "office hours",
    ClockUnit.NATURAL_HOURS: "natural hours",
    ClockUnit.NATURAL_DAYS: "natural days",
}


def unit_words(unit: ClockUnit) -> str:
    return _UNIT_WORDS[unit]


def amount_words(amount: float, unit: ClockUnit) -> str:
    """'15 working days', '1 office hour', '0.5 office hours'."""
    words = unit_words(unit)
    return f"{_format_amount(amount)} {words[:-1] if amount == 1 else words}"


def _limit_line(spec: ClockSpec) -> str:
    line = f"{amount_words(spec.total_limit, spec.unit)} from {spec.started_at.isoformat()}"
    if spec.extensions:
        extended = " + ".join(_format_amount(extension) for extension in spec.extensions)
        line += f" ({_format_amount(spec.limit)} + {extended} extended)"
    return line
