"""A department system down for hours: Temporal retries the push, the coordinator sees it failing, nothing is lost."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from activities.store.delivery import DeliveryAttempt
from activities.store.ledger.audit import AuditTrailRepository
from schemas.delivery import Push
from schemas.handoff import HandoffPolicy, HandoffStage
from tests.gateway.receiver import Answer
from tests.handoff.conftest import LABOUR_DISPATCH, MARKET_REGULATOR, Rig
from tests.handoff.scenario import claim, closed_approval
from workflows.handoff.entity import HandoffWorkflow

FAILURES = 20  # about three and a half hours of backoff under the DEPARTMENT_DELIVERY policy


@pytest.mark.parametrize("receiver_script", [[Answer(503, "maintenance window")] * FAILURES + [Answer(200, "ok")]])
async def test_a_push_failing_for_hours_is_delivered_once_when_the_department_returns(rig: Rig) -> None:
    [started] = (await rig.report(closed_approval(LABOUR_DISPATCH))).handoffs
    handoff = started.handoff_id

    await rig.env.sleep(timedelta(hours=5))
    pushed = await rig.until_stage(handoff, HandoffStage.PUSHED)

    push_id = f"{handoff}:push:v1"
    requests = [r for r in rig.receiver.requests if r.headers["idempotency-key"] == push_id]
    assert [r.status for r in requests] == [503] * FAILURES + [200]
    assert len({r.body for r in requests}) == 1, "every attempt carries the same package"
    package = Push.model_validate_json(requests[-1].body)
    assert package.body["package"] == json.loads(requests[0].body)["body"]["package"]
    async with rig.sessions() as session:
        attempts = (await session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.push_id == push_id))).all()
        trail = await AuditTrailRepository(session).entries_for(handoff)
    # Each answer the department gave is recorded; under a heavy load an attempt may also time out before its
    # request reaches the department, recorded as failed with no HTTP status.
    assert [a.outcome for a in attempts][-1] == "delivered" and [a.outcome for a in attempts].count("delivered") == 1
    assert [a.status_code for a in attempts if a.status_code is not None] == [503] * FAILURES + [200]
    assert all(a.outcome == "failed" for a in attempts[:-1])
    actions = [(entry.action, entry.to_stage) for entry in trail]
    assert actions[:3] == [("created", "created"), ("delivery_failing", "delivery_failed"), ("pushed", "pushed")]
    assert f"{HandoffPolicy().delivery_attempts_before_alert} attempts" in (trail[1].reason or "")

    # The receiver's claim limit runs from the delivery, not from the start of the outage.
    assert pushed.routes[0].pushed_at is not None and pushed.deadlines.claim is not None
    assert pushed.deadlines.claim > pushed.routes[0].pushed_at
    claimed = await rig.handle(handoff).execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR))
    assert claimed.stage is HandoffStage.CLAIMED and not claimed.cards


@pytest.mark.parametrize("receiver_script", [[Answer(410, "this endpoint was retired")]])
async def test_a_refused_push_waits_for_the_coordinator(rig: Rig) -> None:
    [started] = (await rig.report(closed_approval(LABOUR_DISPATCH))).handoffs

    failed = await rig.until_stage(started.handoff_id, HandoffStage.DELIVERY_FAILED)
    assert failed.receiver_code == MARKET_REGULATOR
    assert len(rig.receiver.requests) == 1, "a refusal is final: no retry"
    trail = await rig.trail_until(started.handoff_id, "delivery_failed")
    assert trail[-1].action == "delivery_failed" and "HTTP 410" in (trail[-1].reason or "")


@pytest.mark.parametrize("receiver_script", [[Answer(503, "maintenance window")]])
async def test_a_push_still_retrying_when_the_test_ends_is_let_through_and_the_handoff_terminated(rig: Rig) -> None:
    """The rig's teardown (`Rig.stop_open_handoffs`) meets a push waiting minutes for its next attempt; the test
    server would refuse to cancel it, so the teardown lets it through to the receiver before it terminates."""
    [started] = (await rig.report(closed_approval(LABOUR_DISPATCH))).handoffs
    await rig.env.sleep(timedelta(minutes=3))  # attempts 5 s, 10 s, 20 s... apart: the next is minutes away
    failing = await rig.until_stage(started.handoff_id, HandoffStage.DELIVERY_FAILED)
    assert failing.receiver_code == MARKET_REGULATOR
    assert {request.status for request in rig.receiver.requests} == {503}
