"""`caseloop worker` killed twice (SIGKILL) while 30 cases are launched, accepted and commented on: once a worker runs
again, every case and every command is there exactly once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from schemas.case import commands as c
from schemas.case.stages import CaseStage
from tests.faults.world import (
    COORDINATOR,
    Traffic,
    assert_exactly_once,
    new_number,
    registration,
    running_stack,
    runs_of,
    until,
)

pytestmark = [pytest.mark.fault, pytest.mark.timeout(150)]

CASES = 30
COMMENTS = 2  # per case, after its accept
AT_ONCE = 10  # cases driven at the same time


async def test_a_worker_killed_twice_mid_traffic_loses_and_repeats_nothing(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        traffic = Traffic(stack.engine)
        gate = asyncio.Semaphore(AT_ONCE)

        async def drive(number: str) -> str:
            async with gate:
                case_id = await traffic.launch(registration(stack.matter, number))
                await traffic.send(case_id, c.AcceptCase(actor=COORDINATOR), f"{number}:accept")
                for _ in range(COMMENTS):
                    await traffic.comment(case_id)
                return case_id

        driving = asyncio.gather(*(drive(new_number()) for _ in range(CASES)))
        total = CASES * (2 + COMMENTS)
        cut_off: set[str] = set()

        async def answered(share: float) -> None:
            await until(
                lambda: _answered(traffic, driving),
                lambda answered: answered >= total * share,
                within=120,
                what=f"{share:.0%} of the traffic answered",
            )

        for share in (0.2, 0.5):  # two kills, each after a share of the traffic was answered
            await answered(share)
            cut_off |= traffic.in_flight
            stack.worker.kill()
            await stack.worker.start_and_wait()
        case_ids = await asyncio.wait_for(driving, timeout=150)

        assert len(set(case_ids)) == CASES
        for case_id in case_ids:
            case = traffic.engine.case_by_id(case_id)
            view = await assert_exactly_once(case, stack.resources.sessions, traffic.acknowledged[case_id])
            assert view.stage is CaseStage.LAUNCHED
            assert await runs_of(stack.temporal, case_id) == 1, f"{case_id} was started once"
            commands = traffic.acknowledged[case_id]
            assert len(commands) == 1 + COMMENTS
            assert [result.command for result in commands.values()].count("accept") == 1
        assert cut_off, "the kills fell on commands in flight"
        assert traffic.answered(cut_off), "each was answered in the end"


async def _answered(traffic: Traffic, driving: asyncio.Future[list[str]]) -> int:
    if driving.done():
        driving.result()  # a failed drive fails the test here, not after the deadline
    # Launches count as traffic too: one per case acknowledged.
    return traffic.count + len(traffic.acknowledged)
