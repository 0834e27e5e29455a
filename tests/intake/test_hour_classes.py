"""The 不好辦 window's hour classes on the time-skipping server, through the front door: a window item's accept clock
runs 0.5, 1 or 3 office hours on the legal clock from its receipt, and its red rung fires when that time has passed,
not before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from schemas.case.stages import ClockStep
from schemas.case.views import CaseView
from schemas.clock import ArmedRung, ClockSpec, ClockUnit, RungKind, RungStatus
from services.clock.service import ClockService
from tests.intake.conftest import COORDINATOR, HALLS, ChannelDoor, channel_door, number
from tests.support.eventually import eventually

World = ChannelDoor


@pytest.fixture(scope="module")
async def world(ts_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with channel_door(ts_env, tmp_path_factory, "hours", HALLS) as door:
        yield door


async def registered(world: World, case_id: str) -> CaseView:
    async def read() -> CaseView:
        return await world.engine.case_by_id(case_id).state()

    return await eventually(read, lambda view: view.seq > 0, what=f"{case_id} registered")


def red_rung(view: CaseView) -> ArmedRung:
    [clock] = [clock for clock in view.clocks if clock.step is ClockStep.ACCEPT]
    [rung] = [rung for rung in clock.rungs if rung.kind is RungKind.RED]
    return rung


@pytest.mark.parametrize("hours", ["0.5", "1", "3"])
async def test_a_window_item_is_due_its_hour_class_of_office_time_after_receipt(
    world: World, ts_env: WorkflowEnvironment, hours: str
) -> None:
    record = {
        "record_number": number(),
        "hall": "SQ-ZWFW",
        "attempted": "辦理食品經營許可延續",
        "failed_at": "系統要求上傳已取消的證明材料",
        "recorded_by": "示例窗口人員",
        "hour_class": hours,
    }
    async with httpx.AsyncClient(base_url=world.url, headers={"Authorization": f"Bearer {world.key}"}) as halls:
        answer = await halls.post("/v1/intake/BHB/window-records", json=record)
    assert answer.status_code == 201, answer.text
    # Received when registered, in the server's (skipped) time.
    view = await registered(world, answer.json()["case_id"])
    expected = await ClockService(world.sessions).deadline(
        ClockSpec(started_at=view.registered_at, limit=float(hours), unit=ClockUnit.OFFICE_HOURS, locality="SQ-SCQ")
    )
    [clock] = [clock for clock in view.clocks if clock.step is ClockStep.ACCEPT]
    assert (clock.due_at, clock.department) == (expected.due_at, COORDINATOR), expected.explanation
    assert red_rung(view).at == expected.due_at

    case = world.engine.case_by_id(view.case_id)
    await ts_env.sleep(expected.due_at - await ts_env.get_current_time() - timedelta(minutes=1))
    assert red_rung(await case.state()).status is RungStatus.PENDING
    await ts_env.sleep(timedelta(minutes=2))
    await eventually(case.state, lambda view: red_rung(view).status is RungStatus.FIRED, what="the red rung fired")
