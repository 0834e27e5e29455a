"""SlaClock on the time-skipping server: a 15-working-day limit launched before National Day 2026."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.clock.activities import ClockActivities
from schemas.clock import ClockSpec, ClockUnit, FiredRung, RungKind, RungStatus
from tests.clock.drill_models import DrillAction, DrillStep, SlaDrill, SlaDrillReport
from tests.clock.sla_drill import SlaDrillWorkflow


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


LAUNCH = ClockSpec(started_at=at("2026-09-24T10:00+08:00"), limit=15, unit=ClockUnit.WORKING_DAYS)

# Counted: 09-28..09-30, 10-08, 10-09, 10-10 (make-up Saturday), 10-12..10-16, 10-19..10-22.
PLAIN = [
    (RungKind.REMINDER, "2026-10-13T13:45+08:00"),  # 7.5 of 15 days of office hours
    (RungKind.YELLOW, "2026-10-21T17:30+08:00"),
    (RungKind.RED, "2026-10-22T17:30+08:00"),
    (RungKind.REMINDER_NOTICE, "2026-10-23T08:30+08:00"),
    (RungKind.SUPERVISION_ORDER, "2026-10-23T17:30+08:00"),
    (RungKind.CIRCULAR, "2026-10-29T17:30+08:00"),
    (RungKind.ADMONITORY_TALK, "2026-11-05T17:30+08:00"),
]


@pytest.fixture(params=[False, True], ids=["own-timers", "one-alarm"])
def alarm(request: pytest.FixtureRequest) -> bool:
    """Every drill runs twice: the clock with timers of its own, and woken by an Alarm (the case's clocks)."""
    return bool(request.param)


async def drill(
    env: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession], plan: SlaDrill, alarm: bool
) -> SlaDrillReport:
    plan.alarm = alarm
    clock = ClockActivities(sessions)
    task_queue = f"tq-{uuid.uuid4()}"
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[SlaDrillWorkflow],
        activities=[clock.schedule_rungs, clock.apply_extension, clock.apply_suspension],
    ):
        return await env.client.execute_workflow(
            SlaDrillWorkflow.run,
            plan,
            id=f"sla-drill-{uuid.uuid4()}",
            task_queue=task_queue,
        )


def fired_as_expected(fired: list[FiredRung], expected: list[tuple[RungKind, str]]) -> None:
    assert [(rung.kind, rung.at) for rung in fired] == [(kind, at(instant)) for kind, instant in expected]
    for rung in fired:
        # On the simulated clock a rung fires at its instant, give or take the worker's own processing time.
        assert rung.at <= rung.fired_at < rung.at + timedelta(minutes=5)


async def test_each_rung_fires_once_at_its_instant(
    ts_env: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession], alarm: bool
) -> None:
    report = await drill(ts_env, sessions, SlaDrill(clock=LAUNCH), alarm)
    fired_as_expected(report.fired, PLAIN)
    assert report.callbacks == len(PLAIN)
    assert {rung.deadline_version for rung in report.fired} == {1}
    assert all(rung.due_at == at("2026-10-22T17:30+08:00") for rung in report.fired)


async def test_an_extension_after_yellow_rearms_the_rungs(
    ts_env: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession], alarm: bool
) -> None:
    plan = SlaDrill(
        clock=LAUNCH,
        steps=[DrillStep(action=DrillAction.EXTEND, after_rung=RungKind.YELLOW, extension=5)],
    )
    report = await drill(ts_env, sessions, plan, alarm)
    # 20 working days end on 10-29; the reminder's new instant (10-15 17:30) has passed and it fired: not repeated.
    fired_as_expected(
        report.fired,
        [
            (RungKind.REMINDER, "2026-10-13T13:45+08:00"),
            (RungKind.YELLOW, "2026-10-21T17:30+08:00"),
            (RungKind.YELLOW, "2026-10-28T17:30+08:00"),
            (RungKind.RED, "2026-10-29T17:30+08:00"),
            (RungKind.REMINDER_NOTICE, "2026-10-30T08:30+08:00"),
            (RungKind.SUPERVISION_ORDER, "2026-10-30T17:30+08:00"),
            (RungKind.CIRCULAR, "2026-11-05T17:30+08:00"),
            (RungKind.ADMONITORY_TALK, "2026-11-12T17:30+08:00"),
        ],
    )
    assert [rung.deadline_version for rung in report.fired] == [1, 1, 2, 2, 2, 2, 2, 2]
    assert report.state.deadline_version == 2
    assert [rung.status for rung in report.state.rungs if rung.kind is RungKind.REMINDER] == [RungStatus.CARRIED]
    assert report.changes == ["extended by 5 working days: due 2026-10-22T17:30:00+08:00 → 2026-10-29T17:30:00+08:00"]


async def test_a_suspension_of_three_working_days_moves_every_rung_by_three(
    ts_env: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession], alarm: bool
) -> None:
    # Suspended on Tuesday 09-29, resumed on Friday 10-09: 09-29, 09-30 and 10-08 are paused (the week between is
    # National Day).
    plan = SlaDrill(
        clock=LAUNCH,
        steps=[
            DrillStep(action=DrillAction.SUSPEND, at=at("2026-09-29T09:00+08:00")),
            DrillStep(action=DrillAction.RESUME, at=at("2026-10-09T09:00+08:00")),
        ],
    )
    report = await drill(ts_env, sessions, plan, alarm)
    fired_as_expected(
        report.fired,
        [
            (RungKind.REMINDER, "2026-10-16T13:45+08:00"),
            (RungKind.YELLOW, "2026-10-26T17:30+08:00"),
            (RungKind.RED, "2026-10-27T17:30+08:00"),
            (RungKind.REMINDER_NOTICE, "2026-10-28T08:30+08:00"),
            (RungKind.SUPERVISION_ORDER, "2026-10-28T17:30+08:00"),
            (RungKind.CIRCULAR, "2026-11-03T17:30+08:00"),
            (RungKind.ADMONITORY_TALK, "2026-11-10T17:30+08:00"),
        ],
    )
    assert {rung.deadline_version for rung in report.fired} == {2}
    assert len(report.changes) == 1
    assert "3 working days paused (2026-09-29, 2026-09-30, 2026-10-08)" in report.changes[0]


@pytest.mark.parametrize("after", [RungKind.REMINDER, RungKind.RED])
async def test_the_timers_survive_continue_as_new(
    ts_env: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession], after: RungKind, alarm: bool
) -> None:
    plan = SlaDrill(clock=LAUNCH, steps=[DrillStep(action=DrillAction.CONTINUE_AS_NEW, after_rung=after)])
    report = await drill(ts_env, sessions, plan, alarm)
    assert report.runs == 2
    fired_as_expected(report.fired, PLAIN)
    assert report.callbacks == len(PLAIN) - [kind for kind, _ in PLAIN].index(after) - 1
