"""A 12345 work order's own deadline times its case, on the time-skipping server through the front door: the lead
department and the channel are warned when a fifth of the time is left, and at the deadline an unanswered case earns
the lead department a yellow card and the coordinator hears of it; a case that answered first (its closing report
submitted) is timed no more."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from caseloop.direct.cases import CaseHandle
from schemas.case import commands as c
from schemas.case.stages import CaseStage, ClockStep, CommitmentDecision, Role
from schemas.case.views import CaseView
from schemas.clock import ClockUnit, RungKind
from schemas.ledger import CardLevel, CardReason
from schemas.registry import Limit
from tests.intake.conftest import COORDINATOR, HOTLINE, ChannelDoor, channel_door, number
from tests.support.eventually import eventually

LEAD = "SQ-ZJJ"  # the lead department of matter SQ-12345-SZ
LOCALITY = "SQ-SCQ"
HOURS = 10


World = ChannelDoor


@pytest.fixture(scope="module")
async def world(ts_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with channel_door(ts_env, tmp_path_factory, "hotline", HOTLINE) as door:
        yield door


def work_order(deadline: datetime, received: datetime | None = None) -> dict[str, Any]:
    """Received when registered (in the server's skipped time) unless `received` says otherwise."""
    return {
        "work_order_number": number(),
        "category": "0301",
        "area_code": "321302",
        "content": "施工圍擋佔用道路,車輛無法通行",
        "received_at": received.isoformat() if received else None,
        "hotline_deadline": deadline.isoformat(),
    }


async def take_in(world: World, order: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=world.url, headers={"Authorization": f"Bearer {world.key}"}) as hotline:
        return await hotline.post("/v1/intake/12345/work-orders", json=order)


async def registered(world: World, case_id: str) -> CaseHandle:
    case = world.engine.case_by_id(case_id)
    await eventually(case.state, lambda view: view.seq > 0, what=f"{case_id} registered")
    return case


def deadline_clock(view: CaseView) -> list[Any]:
    return [clock for clock in view.clocks if clock.step is ClockStep.CHANNEL_DEADLINE]


async def actions(case: CaseHandle) -> list[str]:
    return [entry.action for entry in (await case.timeline(limit=500)).entries]


async def test_an_unanswered_work_order_is_warned_then_carded_at_the_hotlines_deadline(
    world: World, ts_env: WorkflowEnvironment
) -> None:
    deadline = await ts_env.get_current_time() + timedelta(hours=HOURS)
    answer = await take_in(world, work_order(deadline))
    assert answer.status_code == 201, answer.text
    case = await registered(world, answer.json()["case_id"])

    view = await case.state()
    [clock] = deadline_clock(view)
    assert (clock.due_at, clock.department) == (deadline, LEAD)
    warning = deadline - (deadline - view.registered_at) * 0.2
    assert [(rung.kind, rung.at) for rung in clock.rungs] == [(RungKind.YELLOW, warning), (RungKind.RED, deadline)]

    await ts_env.sleep(warning - await ts_env.get_current_time() - timedelta(minutes=1))
    assert "channel_deadline_near" not in await actions(case)
    await ts_env.sleep(timedelta(minutes=2))
    await eventually(lambda: actions(case), lambda done: "channel_deadline_near" in done, what="the warning")
    assert not (await case.state()).cards

    await ts_env.sleep(deadline - await ts_env.get_current_time() + timedelta(minutes=1))
    view = await eventually(case.state, lambda view: bool(view.cards), what="the card at the deadline")
    [card] = view.cards
    assert (card.department, card.level, card.reason, card.step) == (
        LEAD,
        CardLevel.YELLOW,
        CardReason.STEP_OVERDUE,
        ClockStep.CHANNEL_DEADLINE,
    )
    assert "channel_deadline_passed" in await actions(case)
    assert deadline_clock(view) == []  # fired once: the case's own clocks carry on


async def test_a_case_that_answers_first_is_timed_no_more(world: World, ts_env: WorkflowEnvironment) -> None:
    deadline = await ts_env.get_current_time() + timedelta(hours=HOURS)
    answer = await take_in(world, work_order(deadline))
    assert answer.status_code == 201, answer.text
    case = await registered(world, answer.json()["case_id"])
    coordinator = c.Actor(department=COORDINATOR, role=Role.COORDINATOR)
    lead = c.Actor(department=LEAD, role=Role.LEAD)
    locality = c.Actor(department=LOCALITY, role=Role.LOCALITY)
    fifteen = Limit(amount=Decimal(15), unit=ClockUnit.WORKING_DAYS)
    for command in (
        c.AcceptCase(actor=coordinator),
        c.SignAssignment(actor=lead),
        c.SignAssignment(actor=locality),
        c.FileCommitment(actor=lead, limit=fifteen, plan="拆除圍擋"),
        c.CosignCommitment(actor=locality),
        c.DecideCommitment(actor=coordinator, decision=CommitmentDecision.ACCEPT),
    ):
        await case.send(command)
    assert deadline_clock(await case.state())  # still running while the case works
    await case.send(
        c.SubmitClosingReport(actor=lead, result="圍擋已拆除", evidence=["photo-1"], requester_confirmed=True)
    )
    result = await case.send(c.CosignClosingReport(actor=locality))
    assert result.stage is CaseStage.CLOSURE_SUBMITTED
    assert deadline_clock(await case.state()) == []

    await ts_env.sleep(deadline - await ts_env.get_current_time() + timedelta(hours=1))
    view = await case.state()
    assert view.cards == []
    assert not {"channel_deadline_near", "channel_deadline_passed"} & set(await actions(case))


async def test_a_deadline_passed_before_the_order_arrived_is_carded_at_once(world: World) -> None:
    # Received two days ago by the wall clock (the door refuses a receipt in its future), due a day later: before
    # the server's time, which the tests before may have skipped ahead.
    received = datetime.now(UTC) - timedelta(days=2)
    answer = await take_in(world, work_order(received + timedelta(days=1), received))
    assert answer.status_code == 201, answer.text
    case = await registered(world, answer.json()["case_id"])
    view = await eventually(case.state, lambda view: bool(view.cards), what="the card of a missed deadline")
    assert [card.step for card in view.cards] == [ClockStep.CHANNEL_DEADLINE]
    assert "channel_deadline_near" not in await actions(case)


@pytest.mark.parametrize(
    ("shift", "rule"),
    [(timedelta(0), "intake.deadline-before-receipt"), (timedelta(days=400), "intake.deadline-too-far")],
)
async def test_a_deadline_out_of_reach_is_refused_by_field(world: World, shift: timedelta, rule: str) -> None:
    received = datetime.now(UTC) - timedelta(hours=1)
    order = work_order(received + shift, received)
    answer = await take_in(world, order)
    assert answer.status_code == 422, answer.text
    assert (answer.json()["rule"], answer.json()["field"]) == (rule, "hotline_deadline")
    async with httpx.AsyncClient(base_url=world.url, headers={"Authorization": f"Bearer {world.key}"}) as hotline:
        again = await hotline.post("/v1/intake/12345/work-orders", json={**order, "hotline_deadline": None})
    assert again.status_code == 201, again.text  # nothing of the refused one was kept
