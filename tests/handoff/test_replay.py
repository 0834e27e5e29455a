"""Committed histories of representative hand-offs replay against today's workflow code.

A change to the workflows that would break running hand-offs fails here; guard it with `workflow.patched`.
Histories of every shape the hand-off has had stay committed: those at the top of histories/ ran before
ONE_WRITE_PATCH (one ledger activity per store write), those in histories/<shape>/ after each later patch.
Record the current shape (after an intended, patched change, under a new SHAPE) with the one recorder of both
loops (tests/support/histories.py):

    CASELOOP_RECORD_HISTORIES=1 .venv/bin/python -m pytest -p no:xdist tests/handoff/test_replay.py
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from activities.gateway.webhook_secrets import secret_env_name
from schemas.handoff import EventBatch, HandoffStage, ReconciliationRun, VerifyFact, intake_workflow_id
from schemas.registry import TriggerEvent
from services.registry.importer import import_registry
from tests.gateway.receiver import Answer
from tests.handoff.conftest import (
    DISTRICT,
    DISTRICT_REGULATOR,
    FOOD_LICENCE,
    HANDOFF_WORKFLOWS,
    HR_BUREAU,
    LABOUR_DISPATCH,
    MARKET_REGULATOR,
    WATER_PERMIT,
    Rig,
)
from tests.handoff.scenario import (
    acknowledge,
    act,
    claim,
    closed_approval,
    feedback,
    give_back,
    penalty,
    receiver,
    reroute,
    withdraw,
)
from tests.joint.answering import AnsweringSystem
from tests.joint.conftest import SECRET as ITEM_SECRET
from tests.joint.conftest import SECRET_REF as ITEM_SECRET_REF
from tests.sdk.world import serving
from tests.support.histories import committed, read_history, recorder, shape_of, write_history
from workflows.handoff.entity import HandoffWorkflow
from workflows.handoff.reconciliation import HandoffReconciliationWorkflow

HISTORIES = Path(__file__).with_name("histories")
# The shape the recorder records: one store activity per transition (ONE_WRITE_PATCH, histories/one-store-write),
# then push, act and supervision-order clocks (CLOCKS_PATCH, histories/push-act-order-clocks), then a party's
# verification call as a command (VERIFY_FACT_PATCH: the verify activity inside the verify_fact update,
# histories/verify-fact) and lean transitions (LEAN_PATCH: the legal clock and registry lookups as local activities, a
# transition's clocks in one plan, histories/lean-transitions), both together in histories/lean-verify.
SHAPE = "lean-verify"
DISPATCH_LICENCE_ITEM = "RS-LWPQ"  # 勞務派遣經營許可核驗, answered by the HR bureau
LICENCE_NUMBER = "320000LW2026001"


async def both_loops(rig: Rig) -> list[str]:
    report = await rig.report(closed_approval(LABOUR_DISPATCH, reference="SQ-SP-REPLAY-0001"))
    loop_one = report.handoffs[0].handoff_id
    await rig.until_stage(loop_one, HandoffStage.PUSHED)
    await rig.handle(loop_one).execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR))
    await rig.handle(loop_one).execute_update(HandoffWorkflow.start_acting, act(MARKET_REGULATOR))
    now = await rig.env.get_current_time()
    finding = penalty(now, reference="SQ-SCJGJ-PENALTY-0001")
    sent = await rig.handle(loop_one).execute_update(HandoffWorkflow.send_feedback, feedback(MARKET_REGULATOR, finding))
    loop_two = sent.loop_two[0]
    await rig.until_stage(loop_two, HandoffStage.PUSHED)
    await rig.handle(loop_two).execute_update(HandoffWorkflow.claim, claim(sent.source_department))
    await rig.handle(loop_two).execute_update(HandoffWorkflow.send_feedback, feedback(sent.source_department))
    await rig.handle(loop_two).execute_update(HandoffWorkflow.acknowledge, acknowledge(MARKET_REGULATOR))
    await rig.handle(loop_one).execute_update(HandoffWorkflow.acknowledge, acknowledge())
    await rig.handle(loop_one).result()
    await rig.handle(loop_two).result()
    return [loop_one, loop_two, intake_workflow_id(report.event_key)]


async def cards_and_order(rig: Rig) -> list[str]:
    report = await rig.report(closed_approval(LABOUR_DISPATCH, reference="SQ-SP-REPLAY-0002"))
    handoff = report.handoffs[0].handoff_id
    pushed = await rig.until_stage(handoff, HandoffStage.PUSHED)
    await rig.skip_past(pushed.deadlines.claim)
    await rig.until(handoff, lambda view: bool(view.cards))
    await rig.handle(handoff).execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR))
    await rig.skip_past(pushed.deadlines.feedback)
    await rig.until(handoff, lambda view: bool(view.supervision_orders))
    await rig.handle(handoff).execute_update(HandoffWorkflow.send_feedback, feedback(MARKET_REGULATOR))
    await rig.skip_past((await rig.view(handoff)).deadlines.acknowledge)
    await rig.handle(handoff).result()
    return [handoff]


async def return_and_reroute(rig: Rig) -> list[str]:
    event = closed_approval(WATER_PERMIT, reference="SQ-SP-REPLAY-0003", locality_code=DISTRICT)
    handoff = (await rig.report(event)).handoffs[0].handoff_id
    await rig.until_stage(handoff, HandoffStage.PUSHED)
    await rig.handle(handoff).execute_update(HandoffWorkflow.return_push, give_back(DISTRICT_REGULATOR))
    await rig.handle(handoff).execute_update(HandoffWorkflow.reroute, reroute())
    await rig.until_stage(handoff, HandoffStage.PUSHED)
    await rig.handle(handoff).execute_update(HandoffWorkflow.terminate, withdraw())
    await rig.handle(handoff).result()
    return [handoff]


async def claim_on_push(rig: Rig) -> list[str]:
    handoff = (await rig.report(closed_approval(FOOD_LICENCE, reference="SQ-SP-REPLAY-0004"))).handoffs[0].handoff_id
    await rig.until_stage(handoff, HandoffStage.CLAIMED)
    await rig.handle(handoff).execute_update(HandoffWorkflow.send_feedback, feedback(MARKET_REGULATOR))
    await rig.skip_past((await rig.view(handoff)).deadlines.acknowledge)
    await rig.handle(handoff).result()
    return [handoff]


async def delivery_outage(rig: Rig) -> list[str]:
    handoff = (await rig.report(closed_approval(LABOUR_DISPATCH, reference="SQ-SP-REPLAY-0005"))).handoffs[0].handoff_id
    await rig.env.sleep(timedelta(hours=1))
    await rig.until_stage(handoff, HandoffStage.PUSHED)
    await rig.handle(handoff).execute_update(HandoffWorkflow.terminate, withdraw())
    await rig.handle(handoff).result()
    return [handoff]


async def batch_and_reconciliation(rig: Rig) -> list[str]:
    events = [
        closed_approval(LABOUR_DISPATCH, reference=f"SQ-SP-REPLAY-1{n:03d}", event=TriggerEvent.ENTERPRISE_CHANGED)
        for n in range(3)
    ]
    report = await rig.report_batch(EventBatch(batch_id="SQ-SPJ-replay-batch", events=events))
    reconciliation = await rig.client.execute_workflow(
        HandoffReconciliationWorkflow.run,
        ReconciliationRun(as_of=await rig.env.get_current_time() + timedelta(days=60)),
        id="handoff-reconciliation-replay",
        task_queue=rig.task_queue,
    )
    assert reconciliation.open_past_limit >= 3
    for event in report.reports:
        await rig.until_stage(event.handoffs[0].handoff_id, HandoffStage.CLAIMED)
    return ["handoff-batch-SQ-SPJ-replay-batch-0", "handoff-reconciliation-replay"]


async def verified(rig: Rig) -> list[str]:
    """The market regulator, pushed a labour-dispatch licence, checks it with the HR bureau's system."""
    answering = AnsweringSystem(ITEM_SECRET, {LICENCE_NUMBER: {"valid": True}}, key="licence_no")
    async with serving(answering.app(), stand_in=True) as system:
        with tempfile.TemporaryDirectory() as directory:
            file = Path(directory) / "item.yaml"
            file.write_text(
                "shared_items:\n"
                f"  - code: {DISPATCH_LICENCE_ITEM}\n"
                "    name: 勞務派遣經營許可核驗\n"
                f"    department: {HR_BUREAU}\n"
                "    system: 人力資源市場監管系統\n"
                f"    endpoint_url: {system}/verify\n"
                f"    secret_ref: {ITEM_SECRET_REF}\n"
                "    timeout_seconds: 5\n"
                f"    grantees: [{MARKET_REGULATOR}]\n",
                encoding="utf-8",
            )
            await import_registry(rig.sessions, [file])
        report = await rig.report(closed_approval(LABOUR_DISPATCH, reference="SQ-SP-REPLAY-0006"))
        handoff = report.handoffs[0].handoff_id
        await rig.until_stage(handoff, HandoffStage.PUSHED)
        await rig.handle(handoff).execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR))
        ask = VerifyFact(
            actor=receiver(MARKET_REGULATOR), item=DISPATCH_LICENCE_ITEM, question={"licence_no": LICENCE_NUMBER}
        )
        view = await rig.handle(handoff).execute_update(HandoffWorkflow.verify_fact, ask)
        assert [line.outcome for line in view.verifications] == ["answered"]
        await rig.handle(handoff).execute_update(HandoffWorkflow.terminate, withdraw())
        await rig.handle(handoff).result()
    return [handoff]


SCENARIOS: dict[str, Callable[[Rig], Awaitable[list[str]]]] = {
    "both_loops": both_loops,
    "cards_and_order": cards_and_order,
    "return_and_reroute": return_and_reroute,
    "claim_on_push": claim_on_push,
    "delivery_outage": delivery_outage,
    "batch_and_reconciliation": batch_and_reconciliation,
    "verified": verified,
}
# What the recorder records for the current shape: the scenarios of the hand-off workflow. The batch and the
# reconciliation workflows kept their shape; their histories at the top of histories/ stay the ones to replay.
RECORDED = sorted(set(SCENARIOS) - {"batch_and_reconciliation"})


@pytest.fixture
def receiver_script(scenario: str) -> list[Answer]:
    if scenario == "delivery_outage":
        return [Answer(503, "maintenance")] * 8 + [Answer(200, "ok")]
    return [Answer(200, "ok")]


@recorder
@pytest.mark.parametrize("scenario", RECORDED)
async def test_record_history(rig: Rig, scenario: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(secret_env_name(ITEM_SECRET_REF), ITEM_SECRET)  # the verified scenario's item
    for index, workflow_id in enumerate(await SCENARIOS[scenario](rig)):
        history = await rig.client.get_workflow_handle(workflow_id).fetch_history()
        write_history(HISTORIES / SHAPE / f"{scenario}-{index}.json", workflow_id, history)


@pytest.mark.parametrize("path", committed(HISTORIES), ids=lambda path: shape_of(HISTORIES, path))
async def test_committed_history_replays(path: Path) -> None:
    history = read_history(path)
    replayer = Replayer(workflows=HANDOFF_WORKFLOWS, data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)
