"""The legal clock's language: limits, pauses, deadlines with their explanation, card rungs and the SLA timer state."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from enum import StrEnum
from itertools import pairwise
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Office hours when a locality configured none: a morning and an afternoon part, Monday to Friday.
DEFAULT_OFFICE_HOURS = ("08:30-12:00", "13:30-17:30")


class ClockUnit(StrEnum):
    WORKING_DAYS = "working-days"
    OFFICE_HOURS = "office-hours"
    NATURAL_HOURS = "natural-hours"
    NATURAL_DAYS = "natural-days"

    @property
    def counts_days(self) -> bool:
        return self in (ClockUnit.WORKING_DAYS, ClockUnit.NATURAL_DAYS)


def shanghai(instant: datetime) -> datetime:
    """The same instant on the legal calendar's wall clock (Asia/Shanghai, +08:00)."""
    return instant.astimezone(SHANGHAI)


# A timezone-aware instant, kept on the Asia/Shanghai wall clock so output reads +08:00.
ShanghaiTime = Annotated[AwareDatetime, AfterValidator(shanghai)]


def _whole_units(unit: ClockUnit, amount: float, field: str) -> None:
    if unit.counts_days and not float(amount).is_integer():
        raise ValueError(f"{field} must be a whole number of {unit.value}, not {amount}")


class Pause(BaseModel):
    """A span during which the clock stood still (suspension); its working time is excluded."""

    model_config = ConfigDict(frozen=True)

    started_at: ShanghaiTime
    ended_at: ShanghaiTime

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> Pause:
        if self.ended_at < self.started_at:
            raise ValueError(
                f"pause ends ({self.ended_at.isoformat()}) before it starts ({self.started_at.isoformat()})"
            )
        return self

    @property
    def label(self) -> str:
        return f"{self.started_at.isoformat()}/{self.ended_at.isoformat()}"


class ClockSpec(BaseModel):
    """One limit on the legal clock: when it started, how long it is, and what has stopped or stretched it."""

    started_at: ShanghaiTime = Field(description="the instant of receipt")
    limit: float = Field(
        gt=0, allow_inf_nan=False, description="in `unit`; day units take whole numbers, hour units halves too"
    )
    unit: ClockUnit
    locality: str | None = Field(None, max_length=64, description="locality code whose office hours apply")
    pauses: list[Pause] = Field(default_factory=list, description="suspensions, excluded from the count")
    extensions: list[Annotated[float, Field(allow_inf_nan=False)]] = Field(
        default_factory=list, max_length=50, description="approved extensions, in `unit`"
    )

    @model_validator(mode="after")
    def _consistent(self) -> ClockSpec:
        _whole_units(self.unit, self.limit, "limit")
        for extension in self.extensions:
            if extension <= 0:
                raise ValueError(f"extension must be greater than 0, not {extension}")
            _whole_units(self.unit, extension, "extension")
        ordered = sorted(self.pauses, key=lambda pause: pause.started_at)
        for earlier, later in pairwise(ordered):
            if later.started_at < earlier.ended_at:
                raise ValueError(f"pauses overlap: {earlier.label} and {later.label}")
        self.pauses = ordered
        return self

    @property
    def total_limit(self) -> float:
        return self.limit + sum(self.extensions)


class DayKind(StrEnum):
    RECEIPT = "receipt"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    MAKEUP_WORKDAY = "makeup-workday"
    PAUSED = "paused"


class DayNote(BaseModel):
    """A day the count skipped, or a make-up working day it counted, and why."""

    day: date
    kind: DayKind
    reason: str
    counted: bool
    estimated: bool = False

    @property
    def line(self) -> str:
        return f"{self.day.isoformat()} {self.reason}" + (" (estimated)" if self.estimated else "")


class Deadline(BaseModel):
    clock: ClockSpec
    due_at: ShanghaiTime
    last_day: date = Field(description="the last day of the limit; the ladder's working days count from it")
    estimated: bool = Field(description="true when a year on the way had no official notice and no override")
    estimated_years: list[int] = Field(default_factory=list)
    notes: list[DayNote] = Field(default_factory=list)
    explanation: list[str] = Field(default_factory=list, description="readable lines, in order")


class CardProfileName(StrEnum):
    """Threshold profiles a matter picks (DESIGN.md §4, domain-research.md §6.2)."""

    DEFAULT = "default"
    NEAR_DUE = "near-due"
    ENSHI = "enshi"
    SANMING_SHEETS = "sanming-sheets"
    OPENSPP = "openspp"
    DIGIT_ESCALATION = "digit-escalation"


class RungKind(StrEnum):
    """A rung of a card profile or of the escalation ladder, spelled as the audit trail and `SupervisionLevel` spell
    the same step (`admonitory_talk`). Runs and histories from before spelled the multi-word rungs with hyphens
    (`admonitory-talk`); those still read."""

    REMINDER = "reminder"
    BLUE = "blue"
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"
    DEEMED_APPROVAL = "deemed_approval"
    REMINDER_NOTICE = "reminder_notice"
    SUPERVISION_ORDER = "supervision_order"
    CIRCULAR = "circular"
    ADMONITORY_TALK = "admonitory_talk"
    ESCALATION_1 = "escalation_1"
    ESCALATION_2 = "escalation_2"
    ESCALATION_3 = "escalation_3"

    @classmethod
    def _missing_(cls, value: object) -> RungKind | None:
        if isinstance(value, str) and "-" in value:
            return cls.__members__.get(value.replace("-", "_").upper())
        return None


class Rung(BaseModel):
    kind: RungKind
    at: ShanghaiTime
    rule: str = Field(description="why it is at this instant, e.g. '50 % of the limit elapsed'")
    estimated: bool = False


class RungScheduleRequest(BaseModel):
    clock: ClockSpec
    profile: CardProfileName = CardProfileName.DEFAULT


class RungSchedule(BaseModel):
    """A deadline and the instants of its profile's rungs, in firing order."""

    profile: CardProfileName
    deadline: Deadline
    rungs: list[Rung]
    estimated_years: list[int] = Field(default_factory=list, description="of the deadline and of every rung")


class DeadlineExtension(BaseModel):
    clock: ClockSpec
    extension: float = Field(gt=0, description="in the limit's unit")
    profile: CardProfileName = CardProfileName.DEFAULT

    @model_validator(mode="after")
    def _whole_days(self) -> DeadlineExtension:
        _whole_units(self.clock.unit, self.extension, "extension")
        return self


class DeadlineSuspension(BaseModel):
    clock: ClockSpec
    pause: Pause
    profile: CardProfileName = CardProfileName.DEFAULT


class DeadlineChange(BaseModel):
    """The moved deadline: the clock with the pause or extension recorded, its new rungs, and why it moved."""

    clock: ClockSpec
    previous_due_at: ShanghaiTime
    schedule: RungSchedule
    explanation: str


# The SLA timer state a workflow keeps (workflows/sla.py).


class RungStatus(StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    CARRIED = "carried"  # fired under an earlier deadline and its new instant has passed: not repeated


class ArmedRung(BaseModel):
    kind: RungKind
    at: AwareDatetime
    status: RungStatus = RungStatus.PENDING


class FiredRung(BaseModel):
    kind: RungKind
    at: AwareDatetime = Field(description="the instant the rung was armed for")
    fired_at: AwareDatetime
    deadline_version: int
    due_at: AwareDatetime


class SlaClockState(BaseModel):
    """Everything the SLA timers need to carry on after continue-as-new."""

    deadline_version: int = 0
    due_at: AwareDatetime | None = None
    rungs: list[ArmedRung] = Field(default_factory=list)
    suspended: bool = False
    stopped: bool = False
    fired: list[FiredRung] = Field(default_factory=list)


# Calendar data: official, operator overrides, estimates.


class CalendarSource(StrEnum):
    OFFICIAL = "official"
    OVERRIDE = "override"
    ESTIMATED = "estimated"


class NamedDay(BaseModel):
    day: date
    name: str


class CalendarYear(BaseModel):
    """A year's days off (beyond plain weekends) and make-up working days, and where they come from."""

    year: int
    source: CalendarSource
    label: str = Field(description="the notice, file or package the days come from")
    days_off: list[NamedDay]
    makeup_workdays: list[NamedDay]
    imported_at: AwareDatetime | None = None


class CalendarEntry(BaseModel):
    """One line of an override file: a name and either explicit dates or an inclusive range."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=200)
    dates: list[date] | None = None
    first: date | None = Field(None, alias="from")
    last: date | None = Field(None, alias="to")

    @model_validator(mode="after")
    def _dates_or_range(self) -> CalendarEntry:
        has_range = self.first is not None or self.last is not None
        if (self.dates is None) == (not has_range):
            raise ValueError(f"{self.name!r}: give either `dates` or both `from` and `to`")
        if has_range:
            if self.first is None or self.last is None:
                raise ValueError(f"{self.name!r}: a range needs both `from` and `to`")
            if self.last < self.first:
                raise ValueError(f"{self.name!r}: `to` ({self.last}) is before `from` ({self.first})")
        return self

    def days(self) -> list[date]:
        if self.dates is not None:
            return list(self.dates)
        assert self.first is not None and self.last is not None
        return [date.fromordinal(n) for n in range(self.first.toordinal(), self.last.toordinal() + 1)]


class CalendarOverride(BaseModel):
    """An operator override file for one year (docs/calendar-overrides.md)."""

    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=1949, le=2200)
    source: str = Field(min_length=1, max_length=500, description="the notice the days are taken from")
    holidays: list[CalendarEntry] = Field(default_factory=list)
    makeup_workdays: list[CalendarEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _days_of_the_year(self) -> CalendarOverride:
        seen: dict[date, str] = {}
        for section, entries in (("holidays", self.holidays), ("makeup_workdays", self.makeup_workdays)):
            for entry in entries:
                for day in entry.days():
                    if day.year != self.year:
                        raise ValueError(f"{section}: {day} ({entry.name}) is not in {self.year}")
                    if day in seen:
                        raise ValueError(f"{section}: {day} is listed twice ({seen[day]} and {entry.name})")
                    if section == "makeup_workdays" and day.weekday() < 5:
                        raise ValueError(f"makeup_workdays: {day} ({entry.name}) is a weekday, already a working day")
                    seen[day] = entry.name
        return self

    def to_year(self) -> CalendarYear:
        return CalendarYear(
            year=self.year,
            source=CalendarSource.OVERRIDE,
            label=self.source,
            days_off=sorted(
                (NamedDay(day=day, name=entry.name) for entry in self.holidays for day in entry.days()),
                key=lambda named: named.day,
            ),
            makeup_workdays=sorted(
                (NamedDay(day=day, name=entry.name) for entry in self.makeup_workdays for day in entry.days()),
                key=lambda named: named.day,
            ),
        )


_PART = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")


def parse_office_part(text: str) -> tuple[time, time]:
    """'08:30-12:00' → (08:30, 12:00)."""
    match = _PART.match(text.strip())
    if not match:
        raise ValueError(f"office hours {text!r} must look like 08:30-12:00")
    h1, m1, h2, m2 = (int(group) for group in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"office hours {text!r} is not a time of day")
    opens, closes = time(h1, m1), time(h2, m2)
    if closes <= opens:
        raise ValueError(f"office hours {text!r} closes before it opens")
    return opens, closes


def _check_parts(parts: list[str], where: str) -> list[str]:
    if not parts:
        raise ValueError(f"{where}: at least one part of office hours is needed")
    spans = [parse_office_part(part) for part in parts]
    for (_, closes), (opens, _) in pairwise(spans):
        if opens < closes:
            raise ValueError(f"{where}: parts must be in order and must not overlap ({', '.join(parts)})")
    return [f"{o:%H:%M}-{c:%H:%M}" for o, c in spans]


def parse_month_day(text: str) -> tuple[int, int]:
    match = _MONTH_DAY.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} must be a month and day like 06-01")
    month, day = int(match.group(1)), int(match.group(2))
    try:
        date(2024, month, day)  # a leap year accepts every real month-day
    except ValueError:
        raise ValueError(f"{text!r} is not a real month and day") from None
    return month, day


class OfficeHoursSeason(BaseModel):
    """A seasonal variant of a locality's office hours, between two month-days inclusive (may wrap the new year)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=100)
    starts_on: str = Field(alias="from", description="MM-DD, inclusive")
    ends_on: str = Field(alias="to", description="MM-DD, inclusive")
    hours: list[str]

    @model_validator(mode="after")
    def _valid(self) -> OfficeHoursSeason:
        parse_month_day(self.starts_on)
        parse_month_day(self.ends_on)
        self.hours = _check_parts(self.hours, f"season {self.name!r}")
        return self

    def covers(self, day: date) -> bool:
        start, end = parse_month_day(self.starts_on), parse_month_day(self.ends_on)
        key = (day.month, day.day)
        if start <= end:
            return start <= key <= end
        return key >= start or key <= end


class OfficeHoursOverride(BaseModel):
    """A locality's office hours on working days, with seasonal variants (docs/calendar-overrides.md)."""

    model_config = ConfigDict(extra="forbid")

    locality: str = Field(min_length=1, max_length=64)
    hours: list[str] = Field(default_factory=lambda: list(DEFAULT_OFFICE_HOURS))
    seasons: list[OfficeHoursSeason] = Field(default_factory=list)

    @field_validator("locality", mode="before")
    @classmethod
    def _code_as_text(cls, value: object) -> object:
        # YAML reads an unquoted code such as 321300 as a number; it is a code all the same.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _valid(self) -> OfficeHoursOverride:
        self.hours = _check_parts(self.hours, f"locality {self.locality!r}")
        names = [season.name for season in self.seasons]
        if len(set(names)) != len(names):
            raise ValueError(f"locality {self.locality!r}: season names must be unique")
        day = date(2024, 1, 1)  # a leap year, so 02-29 is checked too
        while day.year == 2024:
            covering = [season.name for season in self.seasons if season.covers(day)]
            if len(covering) > 1:
                raise ValueError(f"seasons {' and '.join(covering)} overlap on {day:%m-%d}")
            day = date.fromordinal(day.toordinal() + 1)
        return self

    def parts_on(self, day: date) -> list[tuple[time, time]]:
        for season in self.seasons:
            if season.covers(day):
                return [parse_office_part(part) for part in season.hours]
        return [parse_office_part(part) for part in self.hours]
