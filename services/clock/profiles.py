"""Card profiles: named threshold rules that turn one deadline into the instants of its card and ladder rungs.

The default (DESIGN.md §4): a reminder at 50 % elapsed; yellow when one day of the limit remains (hour limits:
20 %); red at the deadline; then the ladder counted in working days from the deadline's last day: a reminder
notice at the opening of the next working day, a supervision order at its close (the party had that day to
answer the reminder notice), a circular at +5 working days and an admonitory talk at +10, each at the close of
office hours. The other profiles are those of domain-research.md §6.2.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.clock import CardProfileName, ClockSpec, Deadline, Rung, RungKind, RungSchedule
from services.clock.deadline import LegalClock


@dataclass(frozen=True)
class Elapsed:
    """When `fraction` of the limit has run, counted in the limit's own unit."""

    fraction: float

    def instant(self, clock: LegalClock, deadline: Deadline) -> datetime:
        return clock.elapsed(deadline.clock, self.fraction)

    @property
    def rule(self) -> str:
        return f"{self.fraction * 100:g} % of the limit elapsed"


@dataclass(frozen=True)
class NearlyDue:
    """When one day of a day limit remains (the end of its last but one counted day), or a share of an hour limit."""

    hour_share_left: float

    def instant(self, clock: LegalClock, deadline: Deadline) -> datetime:
        spec = deadline.clock
        if not spec.unit.counts_days:
            return clock.elapsed(spec, 1 - self.hour_share_left)
        days = int(spec.total_limit)
        if days == 1:
            return spec.started_at
        return clock.day_end(spec.unit, clock.nth_counted_day(spec, days - 1))

    @property
    def rule(self) -> str:
        return f"one day of the limit remains (hour limits: {self.hour_share_left * 100:g} %)"


@dataclass(frozen=True)
class AtDeadline:
    def instant(self, clock: LegalClock, deadline: Deadline) -> datetime:
        return deadline.due_at

    @property
    def rule(self) -> str:
        return "the deadline"


@dataclass(frozen=True)
class WorkingDaysAfter:
    """At the opening or the close of the n-th working day after the deadline's last day."""

    days: int
    at_opening: bool = False

    def instant(self, clock: LegalClock, deadline: Deadline) -> datetime:
        day = clock.working_day_after(deadline.last_day, self.days)
        return clock.office_hours.opening(day) if self.at_opening else clock.office_hours.closing(day)

    @property
    def rule(self) -> str:
        when = "opening" if self.at_opening else "close"
        if self.days == 1:
            return f"{when} of the next working day after the deadline"
        return f"{when} of the {self.days}th working day after the deadline"


Trigger = Elapsed | NearlyDue | AtDeadline | WorkingDaysAfter


@dataclass(frozen=True)
class RungRule:
    kind: RungKind
    trigger: Trigger


PROFILES: dict[CardProfileName, tuple[RungRule, ...]] = {
    CardProfileName.DEFAULT: (
        RungRule(RungKind.REMINDER, Elapsed(0.5)),
        RungRule(RungKind.YELLOW, NearlyDue(hour_share_left=0.2)),
        RungRule(RungKind.RED, AtDeadline()),
        RungRule(RungKind.REMINDER_NOTICE, WorkingDaysAfter(1, at_opening=True)),
        RungRule(RungKind.SUPERVISION_ORDER, WorkingDaysAfter(1)),
        RungRule(RungKind.CIRCULAR, WorkingDaysAfter(5)),
        RungRule(RungKind.ADMONITORY_TALK, WorkingDaysAfter(10)),
    ),
    # Yellow when approaching (≤ 1 WD), red when overdue, a reminder notice the next day.
    CardProfileName.NEAR_DUE: (
        RungRule(RungKind.YELLOW, NearlyDue(hour_share_left=0.2)),
        RungRule(RungKind.RED, AtDeadline()),
        RungRule(RungKind.REMINDER_NOTICE, WorkingDaysAfter(1, at_opening=True)),
    ),
    # Enshi: yellow at half time, red at 90 %, and at 100 % the application is deemed approved.
    CardProfileName.ENSHI: (
        RungRule(RungKind.YELLOW, Elapsed(0.5)),
        RungRule(RungKind.RED, Elapsed(0.9)),
        RungRule(RungKind.DEEMED_APPROVAL, AtDeadline()),
    ),
    # Sanming's sheets hang on progress; on the clock alone: blue at half time, orange near the end, red overdue.
    CardProfileName.SANMING_SHEETS: (
        RungRule(RungKind.BLUE, Elapsed(0.5)),
        RungRule(RungKind.ORANGE, NearlyDue(hour_share_left=0.2)),
        RungRule(RungKind.RED, AtDeadline()),
    ),
    # OpenSPP: yellow when a quarter of the time is left, red overdue.
    CardProfileName.OPENSPP: (
        RungRule(RungKind.YELLOW, Elapsed(0.75)),
        RungRule(RungKind.RED, AtDeadline()),
    ),
    # DIGIT: escalation levels at 80 %, 120 % and 200 % of the SLA.
    CardProfileName.DIGIT_ESCALATION: (
        RungRule(RungKind.ESCALATION_1, Elapsed(0.8)),
        RungRule(RungKind.ESCALATION_2, Elapsed(1.2)),
        RungRule(RungKind.ESCALATION_3, Elapsed(2.0)),
    ),
}


def schedule_rungs(clock: LegalClock, spec: ClockSpec, profile: CardProfileName) -> RungSchedule:
    """The deadline of `spec` and the profile's rungs, none before the start, in firing order."""
    deadline = clock.deadline(spec)
    years = set(deadline.estimated_years)
    rungs = []
    for rule in PROFILES[profile]:
        with clock.calendar.estimates() as estimated:
            at = max(rule.trigger.instant(clock, deadline), spec.started_at)
        years |= estimated
        rungs.append(Rung(kind=rule.kind, at=at, rule=rule.trigger.rule, estimated=bool(estimated)))
    rungs.sort(key=lambda rung: rung.at)  # stable: rungs at the same instant keep the profile's order
    return RungSchedule(profile=profile, deadline=deadline, rungs=rungs, estimated_years=sorted(years))
