"""A push still undelivered at the matter's push limit shows in the trail for the coordinator; delivery goes on."""

from __future__ import annotations

from datetime import timedelta

import pytest

from schemas.handoff import HandoffStage
from tests.gateway.receiver import Answer
from tests.handoff.conftest import TIMED_SERVICE, Rig
from tests.handoff.scenario import closed_approval


@pytest.fixture
def receiver_script() -> list[Answer]:
    # The receiver's system is down for days of retries (30 minutes apart at most), longer than any working day
    # a weekend stretches, then answers.
    return [Answer(503, "maintenance")] * 250 + [Answer(200, "ok")]


async def test_a_push_undelivered_past_the_push_limit_is_flagged(rig: Rig) -> None:
    [started] = (await rig.report(closed_approval(TIMED_SERVICE))).handoffs
    handoff = started.handoff_id
    created = await rig.until(handoff, lambda view: view.deadlines.push is not None)
    assert created.stage is HandoffStage.CREATED
    await rig.skip_past(created.deadlines.push)
    trail = await rig.trail_until(handoff, "push_overdue")
    assert [entry.actor for entry in trail if entry.action == "push_overdue"] == ["system"]

    await rig.env.sleep(timedelta(days=7))  # the system is back: the push goes on and is delivered
    await rig.until_stage(handoff, HandoffStage.PUSHED)
