"""A hand-off keeps the coordinator the registry names at admission: only that department reroutes or terminates it
as coordinator, on the time-skipping server with the real activities and store."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError

from activities.store.handoff_events import HandoffEventRepository
from schemas.handoff import Actor, HandoffStage, HandoffStart, Reroute, Role, Terminate
from tests.handoff.conftest import COORDINATOR, HR_BUREAU, LABOUR_DISPATCH, MARKET_REGULATOR, Rig
from tests.handoff.scenario import closed_approval, give_back, reroute
from tests.handoff.test_loops import rejection_of
from workflows.handoff.entity import HandoffWorkflow


async def test_only_the_registrys_coordinator_reroutes_and_terminates_as_coordinator(rig: Rig) -> None:
    [started] = (await rig.report(closed_approval(LABOUR_DISPATCH))).handoffs
    handoff = started.handoff_id
    async with rig.sessions() as session:
        row = await HandoffEventRepository(session).start_of(handoff)
    assert row is not None and HandoffStart.model_validate(row.start).coordinator_code == COORDINATOR
    await rig.until_stage(handoff, HandoffStage.PUSHED)
    await rig.handle(handoff).execute_update(HandoffWorkflow.return_push, give_back(MARKET_REGULATOR))

    impostor = Actor(department=HR_BUREAU, role=Role.COORDINATOR)
    for update, command in (
        (HandoffWorkflow.reroute, Reroute(actor=impostor, department_code=HR_BUREAU, reason="ours now")),
        (HandoffWorkflow.terminate, Terminate(actor=impostor, reason="duplicate")),
    ):
        with pytest.raises(WorkflowUpdateFailedError) as raised:
            await rig.handle(handoff).execute_update(update, command)  # type: ignore[arg-type]
        assert (rejection_of(raised.value)["rule"], rejection_of(raised.value)["field"]) == (
            "actor.coordinator",
            "actor",
        )
    view = await rig.view(handoff)
    assert (view.stage, view.receiver_code, view.version) == (HandoffStage.RETURNED, MARKET_REGULATOR, 1)

    rerouted = await rig.handle(handoff).execute_update(HandoffWorkflow.reroute, reroute(HR_BUREAU))
    assert (rerouted.stage, rerouted.receiver_code) == (HandoffStage.REROUTED, HR_BUREAU)
    trail = await rig.trail_until(handoff, "rerouted")
    assert [entry.actor_id for entry in trail if entry.action == "rerouted"] == [COORDINATOR]
