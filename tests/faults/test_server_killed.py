"""The Temporal dev server killed (SIGKILL) while 50 cases wait on their SLA timers and on commands in flight, then
started again on the same SQLite file: every case carries on, every timer fires, every command is applied once."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from schemas.case.stages import CaseStage, ClockStep
from schemas.case.state import DEFAULT_STEP_LIMITS, CasePolicy
from schemas.case.views import CaseView
from schemas.clock import RungKind, RungStatus
from schemas.registry import Limit, LimitUnit, MatterStep
from tests.faults.world import (
    Traffic,
    assert_exactly_once,
    new_number,
    registration,
    running_stack,
    runs_of,
    until,
    whole_timeline,
)

pytestmark = [pytest.mark.fault, pytest.mark.timeout(150)]

CASES = 50
# The coordinator's accept limit, 36 seconds of natural time: its reminder, yellow and red rungs fall 18, 28.8 and
# 36 seconds after the case is registered, the next ones on the next working day.
ACCEPT_LIMIT = Limit(amount=Decimal("0.01"), unit=LimitUnit.NATURAL_HOURS)
SHORT_RUNGS = (RungKind.REMINDER, RungKind.YELLOW, RungKind.RED)
MOST_COMMENTS = 5  # per case
POLICY = CasePolicy(step_limits={**DEFAULT_STEP_LIMITS, MatterStep.ACCEPT: ACCEPT_LIMIT})


def short_rungs(view: CaseView) -> dict[RungKind, RungStatus]:
    [clock] = [clock for clock in view.clocks if clock.step is ClockStep.ACCEPT]
    return {rung.kind: rung.status for rung in clock.rungs if rung.kind in SHORT_RUNGS}


async def test_a_killed_server_started_again_on_its_data_fires_every_timer_and_loses_no_command(
    tmp_path: Path,
) -> None:
    async with running_stack(tmp_path) as stack:
        traffic = Traffic(stack.engine, deadline=120)
        case_ids = await asyncio.gather(
            *(traffic.launch(registration(stack.matter, new_number(), policy=POLICY)) for _ in range(CASES))
        )
        cases = [traffic.engine.case_by_id(case_id) for case_id in case_ids]

        async def armed() -> list[CaseView]:
            return await asyncio.gather(*(case.state() for case in cases))

        views = await until(
            armed,
            lambda views: all(any(c.step is ClockStep.ACCEPT for c in view.clocks) for view in views),
            within=60,
            what="every case registered with its accept clock armed",
        )
        pending = {
            (view.case_id, kind)
            for view in views
            for kind, status in short_rungs(view).items()
            if status is RungStatus.PENDING
        }
        assert pending, "some timers are still to fire"

        # Comments on every case, one after the other, until the server is back: the kill falls on some.
        back = asyncio.Event()

        async def comment_until_back(case_id: str) -> None:
            for _ in range(MOST_COMMENTS):
                if back.is_set():
                    return
                await traffic.comment(case_id)

        commenting = asyncio.gather(*(comment_until_back(case_id) for case_id in case_ids))
        await until(
            lambda: _answered(traffic, commenting),
            lambda answered: answered >= CASES,
            within=60,
            what="the first comments answered",
        )
        cut_off = set(traffic.in_flight)
        stack.server.kill()
        stack.server.start()
        await stack.server.client()
        back.set()
        await asyncio.wait_for(commenting, timeout=120)

        views = await until(
            armed,
            lambda views: all(
                set(short_rungs(view)) == set(SHORT_RUNGS)
                and all(status is not RungStatus.PENDING for status in short_rungs(view).values())
                for view in views
            ),
            within=90,
            what="every case's reminder, yellow and red fired",
        )
        for view in views:
            fired = short_rungs(view)
            assert all(fired[kind] is RungStatus.FIRED for case_id, kind in pending if case_id == view.case_id)
            assert view.stage is CaseStage.REGISTERED
        assert stack.worker.running(), "the worker outlived the server's death"
        for case in cases:
            view = await assert_exactly_once(case, stack.resources.sessions, traffic.acknowledged[case.case_id])
            actions = [entry.action for entry in await whole_timeline(case)]
            assert actions.count("commented") == len(traffic.acknowledged[case.case_id])
            # The accept clock watches the coordinator: its red rung reminds it, once.
            assert actions.count("reminder") == 1, f"{case.case_id}: {actions}"
            assert await runs_of(stack.temporal, case.case_id) == 1
        assert cut_off, "the kill fell on commands in flight"
        assert traffic.answered(cut_off), "each was answered in the end"


async def _answered(traffic: Traffic, commenting: asyncio.Future[list[None]]) -> int:
    if commenting.done():
        commenting.result()
    return traffic.count
