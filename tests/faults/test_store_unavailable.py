"""PostgreSQL, the stack's store, refusing every connection while cases are launched, accepted and commented on, then
back: no command fails, a caller that gave up sends the same command id again and gets the real outcome, and each
accepted command is in its case and in the audit trail exactly once.

The store is a private PostgreSQL server (tests/support/postgres_outage.py), never the machine's shared one; the
stack is the dev server and `caseloop worker` as processes (tests/faults/world.py)."""

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
    failed_workflow_tasks,
    new_number,
    registration,
    running_stack,
    runs_of,
    until,
)
from tests.support.postgres_outage import stoppable_postgres

pytestmark = [pytest.mark.fault, pytest.mark.timeout(120)]

CASES = 4  # registered before the outage: accepted and commented on through it
LAUNCHED_DURING = 2  # cases launched while the store is down
OUTAGE = 20.0  # seconds the store refuses connections
WITHIN = 4.0  # how long a caller waits for an answer before it sends the same command id again


async def test_commands_while_the_store_refuses_connections_are_applied_once_when_it_is_back(tmp_path: Path) -> None:
    with stoppable_postgres() as postgres:
        async with running_stack(tmp_path, postgres.url) as stack:
            traffic = Traffic(stack.engine, within=WITHIN, deadline=90)
            case_ids = await asyncio.gather(
                *(traffic.launch(registration(stack.matter, new_number())) for _ in range(CASES))
            )
            cases = [stack.engine.case_by_id(case_id) for case_id in case_ids]
            for case in cases:
                await until(case.state, lambda view: view.seq >= 1, within=30, what=f"{case.case_id} registered")
            down, back = asyncio.Event(), asyncio.Event()

            async def comment_until_back(case_id: str) -> None:
                """Comments one after the other; once the store is down, the accept (the legal clock reads its
                calendar from the store), then comments until it is back."""
                while not down.is_set():
                    await traffic.comment(case_id)
                await traffic.send(case_id, c.AcceptCase(actor=COORDINATOR), f"{case_id}:accept")
                while not back.is_set():
                    await traffic.comment(case_id)

            commenting = asyncio.gather(*(comment_until_back(case_id) for case_id in case_ids))
            await until(
                lambda: _answered(traffic, commenting),
                lambda answered: answered >= 2 * CASES,
                within=30,
                what="the first comments answered",
            )
            postgres.stop()
            down.set()
            cut_off = set(traffic.in_flight)
            # Registration reads the registry from the store: these wait for it too.
            launching = asyncio.gather(
                *(traffic.launch(registration(stack.matter, new_number())) for _ in range(LAUNCHED_DURING))
            )
            await asyncio.sleep(OUTAGE)  # the fault's length, not a check: the checks below wait for their state
            unanswered_in_the_outage = set(traffic.in_flight)
            postgres.start()
            back.set()
            # The test's own sessions ended with the server; its pool would hand out a dead connection first.
            await stack.resources.engine.dispose()
            await asyncio.wait_for(commenting, timeout=90)
            late_ids = await asyncio.wait_for(launching, timeout=90)

            assert unanswered_in_the_outage, "commands were waiting on the store when it came back"
            assert traffic.resent & unanswered_in_the_outage, "a caller gave up and sent the same id again"
            assert traffic.answered(cut_off | unanswered_in_the_outage), "each was answered in the end"
            for case in cases:
                acknowledged = traffic.acknowledged[case.case_id]
                view = await assert_exactly_once(case, stack.resources.sessions, acknowledged)
                assert view.stage is CaseStage.LAUNCHED, f"{case.case_id}: accepted once the clock could count"
                assert [result.command for result in acknowledged.values()].count("accept") == 1
            for case_id in [*case_ids, *late_ids]:
                assert await runs_of(stack.temporal, case_id) == 1, f"{case_id} was started once"
                assert await failed_workflow_tasks(stack.temporal, case_id) == [], f"{case_id}: a workflow task failed"
            for case_id in late_ids:
                case = stack.engine.case_by_id(case_id)
                await until(case.state, lambda view: view.seq >= 1, within=60, what=f"{case_id} registered")
                view = await assert_exactly_once(case, stack.resources.sessions, {})
                assert view.stage is CaseStage.REGISTERED


async def _answered(traffic: Traffic, commenting: asyncio.Future[list[None]]) -> int:
    if commenting.done():
        commenting.result()  # a failed sender fails the test here, not after the deadline
    return traffic.count
