"""The limits a matter names for the push and the measure, and a supervision order's own deadline, each run a clock
of their own: when one passes, the trail shows it and the department is told."""

from __future__ import annotations

import json
from typing import Any

from schemas.handoff import HandoffStage
from schemas.ledger import SupervisionOrderStatus
from tests.handoff.conftest import LABOUR_DISPATCH, MARKET_REGULATOR, TIMED_SERVICE, Rig
from tests.handoff.scenario import act, claim, closed_approval, feedback
from workflows.handoff.entity import HandoffWorkflow


def notices_to(rig: Rig, department: str, kind: str) -> list[dict[str, Any]]:
    bodies = [json.loads(request.body) for request in rig.receiver.requests if request.status == 200]
    return [body for body in bodies if body["department_code"] == department and body["kind"] == kind]


async def test_a_claimant_slow_to_act_is_reminded_at_the_matters_act_limit(rig: Rig) -> None:
    [started] = (await rig.report(closed_approval(TIMED_SERVICE))).handoffs
    handoff = started.handoff_id
    pushed = await rig.until_stage(handoff, HandoffStage.PUSHED)
    assert pushed.deadlines.push is not None and pushed.deadlines.act is None

    claimed = await rig.handle(handoff).execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR))
    assert claimed.deadlines.act is not None
    await rig.skip_past(claimed.deadlines.act)
    trail = await rig.trail_until(handoff, "act_overdue")
    assert "push_overdue" not in {entry.action for entry in trail}  # delivered in time: its clock stopped
    assert [body["body"]["clock"] for body in notices_to(rig, MARKET_REGULATOR, "reminder")].count("act") >= 1

    acting = await rig.handle(handoff).execute_update(HandoffWorkflow.start_acting, act(MARKET_REGULATOR))
    assert acting.stage is HandoffStage.ACTING


async def test_a_matter_without_push_or_act_limits_runs_no_such_clock(rig: Rig) -> None:
    [started] = (await rig.report(closed_approval(LABOUR_DISPATCH))).handoffs
    pushed = await rig.until_stage(started.handoff_id, HandoffStage.PUSHED)
    claimed = await rig.handle(started.handoff_id).execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR))
    assert (pushed.deadlines.push, claimed.deadlines.act) == (None, None)


async def test_an_unanswered_supervision_order_runs_out_on_its_own_clock(rig: Rig) -> None:
    [started] = (await rig.report(closed_approval(LABOUR_DISPATCH))).handoffs
    handoff = started.handoff_id
    pushed = await rig.until_stage(handoff, HandoffStage.PUSHED)
    await rig.handle(handoff).execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR))
    await rig.skip_past(pushed.deadlines.feedback)
    ordered = await rig.until(handoff, lambda view: bool(view.supervision_orders))
    [order] = ordered.supervision_orders
    assert order.order_id == f"{handoff}.o1"
    assert ordered.deadlines.supervision_order == order.deadline

    await rig.skip_past(order.deadline)
    await rig.trail_until(handoff, "supervision_order_overdue")
    assert [body["body"]["rung"] for body in notices_to(rig, MARKET_REGULATOR, "circular")].count("circular") >= 1

    answered = await rig.handle(handoff).execute_update(HandoffWorkflow.send_feedback, feedback(MARKET_REGULATOR))
    assert answered.supervision_orders[0].status is SupervisionOrderStatus.ANSWERED
