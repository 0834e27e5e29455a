"""Card profiles turn a deadline into rung instants: the default ladder and the profiles of domain research §6.2."""

from __future__ import annotations

import pytest

from schemas.clock import CardProfileName, ClockSpec, ClockUnit, RungKind
from services.clock.deadline import LegalClock
from services.clock.profiles import PROFILES, schedule_rungs
from tests.clock.conftest import at


def rungs(clock: LegalClock, spec: ClockSpec, profile: CardProfileName) -> list[tuple[RungKind, str]]:
    return [(rung.kind, rung.at.isoformat()) for rung in schedule_rungs(clock, spec, profile).rungs]


NATIONAL_DAY_2026 = ClockSpec(started_at=at("2026-09-24T10:00+08:00"), limit=15, unit=ClockUnit.WORKING_DAYS)


def test_the_default_ladder_of_a_working_day_limit(legal_clock: LegalClock) -> None:
    assert rungs(legal_clock, NATIONAL_DAY_2026, CardProfileName.DEFAULT) == [
        (RungKind.REMINDER, "2026-10-13T13:45:00+08:00"),
        (RungKind.YELLOW, "2026-10-21T17:30:00+08:00"),
        (RungKind.RED, "2026-10-22T17:30:00+08:00"),
        (RungKind.REMINDER_NOTICE, "2026-10-23T08:30:00+08:00"),
        (RungKind.SUPERVISION_ORDER, "2026-10-23T17:30:00+08:00"),
        (RungKind.CIRCULAR, "2026-10-29T17:30:00+08:00"),
        (RungKind.ADMONITORY_TALK, "2026-11-05T17:30:00+08:00"),
    ]


def test_hour_limits_turn_yellow_with_a_fifth_left(legal_clock: LegalClock) -> None:
    spec = ClockSpec(started_at=at("2026-11-02T09:00+08:00"), limit=1, unit=ClockUnit.OFFICE_HOURS)
    assert rungs(legal_clock, spec, CardProfileName.DEFAULT)[:3] == [
        (RungKind.REMINDER, "2026-11-02T09:30:00+08:00"),
        (RungKind.YELLOW, "2026-11-02T09:48:00+08:00"),
        (RungKind.RED, "2026-11-02T10:00:00+08:00"),
    ]


def test_a_one_day_limit_is_yellow_from_the_start(legal_clock: LegalClock) -> None:
    spec = ClockSpec(started_at=at("2026-11-02T10:00+08:00"), limit=1, unit=ClockUnit.WORKING_DAYS)
    schedule = schedule_rungs(legal_clock, spec, CardProfileName.DEFAULT)
    yellow = next(rung for rung in schedule.rungs if rung.kind is RungKind.YELLOW)
    assert yellow.at == spec.started_at
    assert schedule.rungs[0].kind is RungKind.YELLOW  # before the reminder at half time


def test_natural_day_limits_end_the_ladder_on_working_days(legal_clock: LegalClock) -> None:
    spec = ClockSpec(started_at=at("2026-09-30T10:00+08:00"), limit=3, unit=ClockUnit.NATURAL_DAYS)
    result = dict(rungs(legal_clock, spec, CardProfileName.DEFAULT))
    assert result[RungKind.RED] == "2026-10-09T00:00:00+08:00"
    assert result[RungKind.REMINDER_NOTICE] == "2026-10-09T08:30:00+08:00"


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        (
            CardProfileName.NEAR_DUE,
            [
                (RungKind.YELLOW, "2026-10-21T17:30:00+08:00"),
                (RungKind.RED, "2026-10-22T17:30:00+08:00"),
                (RungKind.REMINDER_NOTICE, "2026-10-23T08:30:00+08:00"),
            ],
        ),
        (
            CardProfileName.ENSHI,
            [
                (RungKind.YELLOW, "2026-10-13T13:45:00+08:00"),
                (RungKind.RED, "2026-10-21T13:45:00+08:00"),
                (RungKind.DEEMED_APPROVAL, "2026-10-22T17:30:00+08:00"),
            ],
        ),
        (
            CardProfileName.SANMING_SHEETS,
            [
                (RungKind.BLUE, "2026-10-13T13:45:00+08:00"),
                (RungKind.ORANGE, "2026-10-21T17:30:00+08:00"),
                (RungKind.RED, "2026-10-22T17:30:00+08:00"),
            ],
        ),
        (
            CardProfileName.OPENSPP,
            [(RungKind.YELLOW, "2026-10-19T10:22:30+08:00"), (RungKind.RED, "2026-10-22T17:30:00+08:00")],
        ),
        (
            CardProfileName.DIGIT_ESCALATION,
            [
                (RungKind.ESCALATION_1, "2026-10-19T17:30:00+08:00"),
                (RungKind.ESCALATION_2, "2026-10-27T17:30:00+08:00"),
                (RungKind.ESCALATION_3, "2026-11-12T17:30:00+08:00"),
            ],
        ),
    ],
)
def test_the_named_profiles(
    legal_clock: LegalClock, profile: CardProfileName, expected: list[tuple[RungKind, str]]
) -> None:
    assert rungs(legal_clock, NATIONAL_DAY_2026, profile) == expected


def test_every_profile_name_has_rules() -> None:
    assert set(PROFILES) == set(CardProfileName)


def test_rungs_in_an_unpublished_year_are_marked_estimated(legal_clock: LegalClock) -> None:
    spec = ClockSpec(started_at=at("2026-12-01T10:00+08:00"), limit=15, unit=ClockUnit.WORKING_DAYS)
    schedule = schedule_rungs(legal_clock, spec, CardProfileName.DEFAULT)
    assert not schedule.deadline.estimated  # due 2026-12-22
    estimated = {rung.kind for rung in schedule.rungs if rung.estimated}
    assert estimated == {RungKind.ADMONITORY_TALK}  # +10 WD after 12-22 reaches into 2027; +5 WD is 12-29
    assert schedule.estimated_years == [2027]
