"""Both loops of the double push on the time-skipping server, with the real activities and store."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from activities.handoff.reconciliation import HandoffReportActivities
from activities.store.handoff_events import HandoffStartRow
from activities.store.ledger.audit import AuditTrailRepository
from activities.store.ledger.cards import Card
from activities.store.ledger.handoffs import HandoffRecordRepository
from activities.store.ledger.scores import ScoreEvent
from activities.store.ledger.supervision import SupervisionOrder
from caseloop.direct.channel import Channel, until_taken
from caseloop.direct.handoffs import HandoffHandle
from caseloop.errors import InputRejected
from schemas.handoff import (
    EventOutcome,
    HandoffInput,
    HandoffPolicy,
    HandoffStage,
    HandoffStart,
    HandoffState,
    HandoffView,
    SlaColour,
    SourceEvent,
    ThreadQuery,
)
from schemas.ledger import CardLevel, SupervisionOrderStatus
from schemas.registry import HandoffDirection, TriggerEvent
from tests.handoff.conftest import (
    APPROVAL_BUREAU,
    DISTRICT,
    DISTRICT_REGULATOR,
    FOOD_LICENCE,
    FOOD_MATTER,
    HR_BUREAU,
    LABOUR_DISPATCH,
    LABOUR_MATTER,
    MARKET_REGULATOR,
    PENALTY_MATTER,
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
    reroute,
    withdraw,
)
from tests.support.eventually import eventually
from workflows.handoff.entity import HandoffWorkflow


def rig_pushes(rig: Rig) -> list[dict[str, Any]]:
    """What the departments' systems accepted, in order."""
    return [json.loads(request.body) for request in rig.receiver.requests if request.status == 200]


def pushes_to(rig: Rig, department: str) -> list[dict[str, Any]]:
    return [body for body in rig_pushes(rig) if body["department_code"] == department]


def rejection_of(error: WorkflowUpdateFailedError) -> dict[str, Any]:
    assert isinstance(error.cause, ApplicationError) and error.cause.type == "Rejected"
    details: dict[str, Any] = error.cause.details[0]
    return details


async def test_both_loops_close_on_time_and_form_one_thread(rig: Rig) -> None:
    report = await rig.report(closed_approval(LABOUR_DISPATCH))
    assert report.outcome is EventOutcome.STARTED
    [started] = report.handoffs
    assert started.matter_code == LABOUR_MATTER and started.receiver_code == MARKET_REGULATOR
    loop_one = started.handoff_id

    pushed = await rig.until_stage(loop_one, HandoffStage.PUSHED)
    assert pushed.deadlines.claim is not None and pushed.deadlines.feedback is not None
    await rig.handle(loop_one).execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR))
    await rig.handle(loop_one).execute_update(HandoffWorkflow.start_acting, act(MARKET_REGULATOR))
    now = await rig.env.get_current_time()
    sent = await rig.handle(loop_one).execute_update(
        HandoffWorkflow.send_feedback, feedback(MARKET_REGULATOR, penalty(now))
    )
    assert sent.stage is HandoffStage.FEEDBACK_SENT
    [loop_two] = sent.loop_two

    back = await rig.until_stage(loop_two, HandoffStage.PUSHED)
    assert back.direction is HandoffDirection.SUPERVISION_TO_APPROVAL
    assert back.receiver_code == APPROVAL_BUREAU and back.thread_id == loop_one
    assert back.matter_code == PENALTY_MATTER
    await rig.handle(loop_two).execute_update(HandoffWorkflow.claim, claim(APPROVAL_BUREAU))
    await rig.handle(loop_two).execute_update(HandoffWorkflow.send_feedback, feedback(APPROVAL_BUREAU))
    closed_two = await rig.handle(loop_two).execute_update(HandoffWorkflow.acknowledge, acknowledge(MARKET_REGULATOR))
    assert closed_two.stage is HandoffStage.LOOP_CLOSED
    closed_one = await rig.handle(loop_one).execute_update(HandoffWorkflow.acknowledge, acknowledge())
    assert closed_one.stage is HandoffStage.LOOP_CLOSED and not closed_one.cards

    final_one, final_two = [await rig.handle(identifier).result() for identifier in (loop_one, loop_two)]
    assert final_one.stage is final_two.stage is HandoffStage.LOOP_CLOSED
    assert final_one.sla_colour is SlaColour.GREEN
    # Loop 2's claim limit is one working day: it is "nearly due" (yellow) from the start, never late.
    assert final_two.sla_colour is SlaColour.YELLOW and not final_two.cards

    thread = await HandoffReportActivities(rig.sessions).thread(ThreadQuery(thread_id=loop_one))
    assert [member.handoff_id for member in thread.handoffs] == [loop_one, loop_two]
    async with rig.sessions() as session:
        trail = await AuditTrailRepository(session).entries_for(loop_one)
        scores = (await session.scalars(select(ScoreEvent))).all()
        cards = (await session.scalars(select(Card))).all()
    assert [entry.action for entry in trail] == [
        "created",
        "pushed",
        "claimed",
        "acting",
        "feedback_sent",
        "loop_two_started",
        "acknowledged",
    ]
    assert sorted(score.department_code for score in scores) == sorted([MARKET_REGULATOR, APPROVAL_BUREAU])
    assert not cards
    kinds_to_regulator = [body["kind"] for body in pushes_to(rig, MARKET_REGULATOR)]
    assert kinds_to_regulator.count("handoff_push") == 1 and "loop_closed" in kinds_to_regulator
    assert [body["kind"] for body in pushes_to(rig, APPROVAL_BUREAU)].count("handoff_feedback") == 1


async def test_a_missed_claim_earns_yellow_and_a_missed_feedback_red_with_a_supervision_order(rig: Rig) -> None:
    [started] = (await rig.report(closed_approval(LABOUR_DISPATCH))).handoffs
    handoff = started.handoff_id
    pushed = await rig.until_stage(handoff, HandoffStage.PUSHED)

    await rig.skip_past(pushed.deadlines.claim)
    late = await rig.until(handoff, lambda view: bool(view.cards))
    [yellow] = late.cards
    assert (yellow.level, yellow.department, yellow.reason) == (
        CardLevel.YELLOW,
        MARKET_REGULATOR,
        "claim_overdue",
    )
    assert late.sla_colour is SlaColour.YELLOW and late.stage is HandoffStage.PUSHED

    await rig.handle(handoff).execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR))
    await rig.skip_past(pushed.deadlines.feedback)
    overdue = await rig.until(handoff, lambda view: bool(view.supervision_orders))
    assert [(card.level, card.reason) for card in overdue.cards] == [
        (CardLevel.YELLOW, "claim_overdue"),
        (CardLevel.RED, "feedback_overdue"),
    ]
    assert overdue.sla_colour is SlaColour.RED
    [order] = overdue.supervision_orders
    assert (order.department_code, order.status) == (MARKET_REGULATOR, SupervisionOrderStatus.ISSUED)

    await rig.handle(handoff).execute_update(HandoffWorkflow.send_feedback, feedback(MARKET_REGULATOR))
    closed = await rig.handle(handoff).execute_update(HandoffWorkflow.acknowledge, acknowledge())
    assert closed.supervision_orders[0].status is SupervisionOrderStatus.LIFTED
    await rig.handle(handoff).result()

    async with rig.sessions() as session:
        cards = (await session.scalars(select(Card).order_by(Card.issued_at))).all()
        scores = (await session.scalars(select(ScoreEvent).order_by(ScoreEvent.occurred_at))).all()
        [stored_order] = (await session.scalars(select(SupervisionOrder))).all()
        order_trail = await AuditTrailRepository(session).entries_for(order.order_id)
        trail = await AuditTrailRepository(session).entries_for(handoff)
    assert [(card.level, card.reason, card.department_code) for card in cards] == [
        ("yellow", "claim_overdue", MARKET_REGULATOR),
        ("red", "feedback_overdue", MARKET_REGULATOR),
    ]
    assert [score.kind for score in scores] == ["card_yellow", "card_red"], "a late loop earns no on-time point"
    assert (stored_order.status, stored_order.case_id) == ("lifted", handoff)
    assert [entry.action for entry in order_trail] == ["issued", "answered", "lifted"]
    actions = [entry.action for entry in trail]
    assert actions.index("yellow_card") < actions.index("claimed") < actions.index("red_card")
    assert "supervision_order_issued" in actions
    kinds = [body["kind"] for body in pushes_to(rig, MARKET_REGULATOR)]
    assert kinds.count("card") == 2 and kinds.count("supervision_order") == 1 and "reminder" in kinds


async def test_claim_on_push_matters_are_claimed_by_the_delivery(rig: Rig) -> None:
    [started] = (await rig.report(closed_approval(FOOD_LICENCE))).handoffs
    assert started.matter_code == FOOD_MATTER
    claimed = await rig.until_stage(started.handoff_id, HandoffStage.CLAIMED)
    assert claimed.claimed_on_push and claimed.deadlines.claim is None
    assert claimed.deadlines.feedback is not None

    with pytest.raises(WorkflowUpdateFailedError) as raised:
        await rig.handle(started.handoff_id).execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR))
    assert rejection_of(raised.value)["rule"] == "claim.on-push"

    await rig.handle(started.handoff_id).execute_update(HandoffWorkflow.send_feedback, feedback(MARKET_REGULATOR))
    await rig.skip_past((await rig.view(started.handoff_id)).deadlines.acknowledge)
    closed = await rig.handle(started.handoff_id).result()
    assert closed.stage is HandoffStage.LOOP_CLOSED and closed.auto_acknowledged


async def test_a_misrouted_push_is_returned_and_rerouted_by_the_function_registry(rig: Rig) -> None:
    event = closed_approval(WATER_PERMIT, locality_code=DISTRICT)
    [started] = (await rig.report(event)).handoffs
    handoff = started.handoff_id
    assert started.receiver_code == DISTRICT_REGULATOR, "the locality's own department comes first"
    await rig.until_stage(handoff, HandoffStage.PUSHED)

    returned = await rig.handle(handoff).execute_update(HandoffWorkflow.return_push, give_back(DISTRICT_REGULATOR))
    assert returned.stage is HandoffStage.RETURNED and returned.deadlines.reroute is not None
    rerouted = await rig.handle(handoff).execute_update(HandoffWorkflow.reroute, reroute())
    assert (rerouted.stage, rerouted.receiver_code, rerouted.version) == (HandoffStage.REROUTED, MARKET_REGULATOR, 2)
    pushed = await rig.until_stage(handoff, HandoffStage.PUSHED)
    assert [route.department_code for route in pushed.routes] == [DISTRICT_REGULATOR, MARKET_REGULATOR]
    await rig.handle(handoff).execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR))

    with pytest.raises(WorkflowUpdateFailedError) as raised:
        await rig.handle(handoff).execute_update(HandoffWorkflow.claim, claim(DISTRICT_REGULATOR))
    assert rejection_of(raised.value)["rule"] == "actor.receiver"
    push_ids = [body["push_id"] for body in rig_pushes(rig) if body["kind"] == "handoff_push"]
    assert push_ids == [f"{handoff}:push:v1", f"{handoff}:push:v2"]


async def test_a_reroute_names_the_department_when_the_registry_knows_no_other(rig: Rig) -> None:
    [started] = (await rig.report(closed_approval(LABOUR_DISPATCH))).handoffs
    handoff = started.handoff_id
    await rig.until_stage(handoff, HandoffStage.PUSHED)
    await rig.handle(handoff).execute_update(HandoffWorkflow.return_push, give_back(MARKET_REGULATOR))

    for command, rule in (
        (reroute(), "reroute.no-department"),
        (reroute(MARKET_REGULATOR), "reroute.returned-by"),
        (reroute("SQ-NO-SUCH-BUREAU"), "reroute.unknown-department"),
    ):
        with pytest.raises(WorkflowUpdateFailedError) as raised:
            await rig.handle(handoff).execute_update(HandoffWorkflow.reroute, command)
        assert rejection_of(raised.value)["rule"] == rule
    assert (await rig.view(handoff)).stage is HandoffStage.RETURNED

    await rig.handle(handoff).execute_update(HandoffWorkflow.reroute, reroute(HR_BUREAU))
    pushed = await rig.until_stage(handoff, HandoffStage.PUSHED)
    assert pushed.receiver_code == HR_BUREAU

    await rig.handle(handoff).execute_update(HandoffWorkflow.return_push, give_back(HR_BUREAU))
    trail = await rig.trail_until(handoff, "misrouting_flagged")
    assert "registry may be wrong for item JG-LWPQ" in (trail[-1].reason or "")


async def test_termination_mid_loop_stops_everything_and_later_commands_are_refused(rig: Rig) -> None:
    [started] = (await rig.report(closed_approval(LABOUR_DISPATCH))).handoffs
    handoff = started.handoff_id
    await rig.until_stage(handoff, HandoffStage.PUSHED)
    await rig.handle(handoff).execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR))

    terminated = await rig.handle(handoff).execute_update(HandoffWorkflow.terminate, withdraw())
    assert terminated.stage is HandoffStage.TERMINATED and terminated.next_due_at is None
    # Sent the SDK's way: the workflow refuses them while it sends its notice of the close, and once it has closed
    # the channel refuses them as sent to a finished workflow (never "does not exist"), whichever comes first.
    direct = HandoffHandle(Channel(rig.client, "test-server", "default", rig.task_queue, within=30.0), handoff)
    for command in (claim(MARKET_REGULATOR), feedback(MARKET_REGULATOR)):
        with pytest.raises(InputRejected) as refused:
            await direct.send(command)
        assert (refused.value.rule, "withdrew" in str(refused.value)) in {
            ("stage.terminated", True),
            ("workflow.finished", False),
        }

    final = await rig.handle(handoff).result()
    assert final.stage is HandoffStage.TERMINATED
    with pytest.raises(InputRejected) as refused:
        await direct.send(feedback(MARKET_REGULATOR))
    assert refused.value.rule == "workflow.finished" and "finished" in str(refused.value)
    notice = [body for body in pushes_to(rig, MARKET_REGULATOR) if body["kind"] == "loop_closed"]
    assert [body["body"]["stage"] for body in notice] == ["terminated"]
    async with rig.sessions() as session:
        record = await HandoffRecordRepository(session).get(handoff)
    assert record is not None and record.stage == "terminated" and record.closed_at is not None


async def test_feedback_from_a_department_that_is_not_the_claimant_changes_nothing(rig: Rig) -> None:
    [started] = (await rig.report(closed_approval(LABOUR_DISPATCH))).handoffs
    handoff = started.handoff_id
    await rig.until_stage(handoff, HandoffStage.PUSHED)
    await rig.handle(handoff).execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR))
    before = await rig.view(handoff)

    with pytest.raises(WorkflowUpdateFailedError) as raised:
        await rig.handle(handoff).execute_update(HandoffWorkflow.send_feedback, feedback(HR_BUREAU))
    details = rejection_of(raised.value)
    assert (details["rule"], details["field"]) == ("actor.claimant", "actor")
    assert MARKET_REGULATOR in details["message"]
    assert await rig.view(handoff) == before


async def test_the_same_command_twice_is_applied_once(rig: Rig) -> None:
    [started] = (await rig.report(closed_approval(LABOUR_DISPATCH))).handoffs
    handoff = started.handoff_id
    await rig.until_stage(handoff, HandoffStage.PUSHED)
    command, command_id = claim(MARKET_REGULATOR), "SQ-SCJGJ-claim-0001"
    first = await rig.handle(handoff).execute_update(HandoffWorkflow.claim, command, id=command_id)
    again = await rig.handle(handoff).execute_update(HandoffWorkflow.claim, command, id=command_id)
    assert first == again
    async with rig.sessions() as session:
        trail = await AuditTrailRepository(session).entries_for(handoff)
    assert [entry.action for entry in trail].count("claimed") == 1


async def next_run_remembering(
    rig: Rig, suffix: str, policy: HandoffPolicy | None = None, **remembered: Any
) -> WorkflowHandle[Any, HandoffView]:
    """A pushed hand-off's next run, as continue-as-new would start it (under another ID), carrying `remembered`
    commands (`handled_commands`, `handled_as`); with `policy` instead of the one it was admitted with."""
    [started] = (await rig.report(closed_approval(LABOUR_DISPATCH))).handoffs
    pushed = await rig.until_stage(started.handoff_id, HandoffStage.PUSHED)
    async with rig.sessions() as session:
        row = await session.get(HandoffStartRow, started.handoff_id)
    assert row is not None
    start = HandoffStart.model_validate(row.start)
    carried = HandoffState(
        stage=HandoffStage.PUSHED,
        receiver_code=MARKET_REGULATOR,
        version=1,
        routes=pushed.routes,
        audit_seq=100,
        **remembered,
    )
    next_run = start.model_copy(update={"handoff_id": f"{start.handoff_id}-{suffix}", "policy": policy or start.policy})
    handle = await rig.client.start_workflow(
        HandoffWorkflow.run,
        HandoffInput(start=next_run, carried=carried),
        id=next_run.handoff_id,
        task_queue=rig.task_queue,
    )
    rig.started.add(handle.id)
    return handle


async def test_a_command_applied_before_continue_as_new_is_not_applied_again_after_it(rig: Rig) -> None:
    # The next run of the same hand-off, as continue-as-new would start it (here under another ID).
    handle = await next_run_remembering(rig, "next-run", handled_commands=["SQ-SCJGJ-claim-0001"])

    repeated = await handle.execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR), id="SQ-SCJGJ-claim-0001")
    assert repeated.stage is HandoffStage.PUSHED
    fresh = await handle.execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR), id="SQ-SCJGJ-claim-0002")
    assert fresh.stage is HandoffStage.CLAIMED


async def test_a_command_sent_again_after_continue_as_new_answers_its_first_result(rig: Rig) -> None:
    # A short history makes the hand-off continue as new after its first commands (two: a lean run's first one alone
    # stays under the policy's least limit), and again later.
    handle = await next_run_remembering(rig, "answers", HandoffPolicy(max_history_events=20))

    async def current_run() -> str:
        request = DescribeWorkflowExecutionRequest(
            namespace=rig.client.namespace, execution=WorkflowExecution(workflow_id=handle.id)
        )
        described = await rig.client.workflow_service.describe_workflow_execution(request)
        return described.workflow_execution_info.execution.run_id

    first_run = await current_run()
    claimed = await until_taken(
        rig.client, handle, HandoffWorkflow.claim, claim(MARKET_REGULATOR), "SQ-SCJGJ-claim-0003"
    )
    assert claimed.stage is HandoffStage.CLAIMED
    acting = await until_taken(
        rig.client, handle, HandoffWorkflow.start_acting, act(MARKET_REGULATOR), "SQ-SCJGJ-act-0003"
    )
    assert acting.stage is HandoffStage.ACTING

    async def run_after_a_second() -> str:
        # The hand-off continues once its pushes are out and a short grace has passed on its clock: a query alone
        # does not move the time-skipping server's time, so each read lets a second of workflow time pass.
        await rig.env.sleep(timedelta(seconds=1))
        return await current_run()

    await eventually(run_after_a_second, lambda run: run != first_run, what="continue-as-new")
    again = await until_taken(rig.client, handle, HandoffWorkflow.claim, claim(MARKET_REGULATOR), "SQ-SCJGJ-claim-0003")
    assert again == claimed, "the first answer, not the hand-off as it is now"
    assert (await handle.query(HandoffWorkflow.view)).stage is HandoffStage.ACTING


async def test_a_finding_reported_late_earns_the_regulator_a_red_card_and_joins_the_thread(rig: Rig) -> None:
    [started] = (await rig.report(closed_approval(LABOUR_DISPATCH))).handoffs
    loop_one = started.handoff_id
    await rig.until_stage(loop_one, HandoffStage.PUSHED)
    await rig.handle(loop_one).execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR))
    decided = await rig.env.get_current_time() - timedelta(days=10)
    finding = SourceEvent(
        source_department=MARKET_REGULATOR,
        reference=f"宿市監罰〔2026〕{uuid.uuid4().hex[:6]}號",  # one intake per run: the server outlives a test
        event=TriggerEvent.PENALTY_DECIDED,
        occurred_at=decided,
        decision="penalty",
        related_handoff_id=loop_one,
    )

    [loop_two] = (await rig.report(finding)).handoffs
    assert loop_two.thread_id == loop_one and loop_two.receiver_code == APPROVAL_BUREAU
    back = await rig.until(loop_two.handoff_id, lambda view: bool(view.cards))
    [card] = back.cards
    assert (card.level, card.department, card.reason) == (CardLevel.RED, MARKET_REGULATOR, "push_back_overdue")
    linked = await rig.until(loop_one, lambda view: bool(view.loop_two))
    assert linked.loop_two == [loop_two.handoff_id]


async def test_the_temporal_ui_sees_codes_and_stages_but_no_personal_data(rig: Rig) -> None:
    event = closed_approval(LABOUR_DISPATCH)
    [started] = (await rig.report(event)).handoffs
    await rig.trail_until(started.handoff_id, "pushed")

    metadata = await rig.handle(started.handoff_id).query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    details = metadata.current_details
    assert "**pushed**" in details and f"to {MARKET_REGULATOR}" in details and "claim due" in details
    request = DescribeWorkflowExecutionRequest(
        namespace=rig.client.namespace, execution=WorkflowExecution(workflow_id=started.handoff_id)
    )
    description = await rig.client.workflow_service.describe_workflow_execution(request)
    fields = description.workflow_execution_info.search_attributes.indexed_fields
    attributes = {name: json.loads(payload.data) for name, payload in fields.items()}
    assert "CaseloopLocality" not in attributes, "a hand-off without a locality sets none"
    assert {name: attributes[name] for name in ("CaseloopKind", "CaseloopStage", "CaseloopLeadDepartment")} == {
        "CaseloopKind": "handoff",
        "CaseloopStage": "pushed",
        "CaseloopLeadDepartment": MARKET_REGULATOR,
    }
    assert attributes["CaseloopMatter"] == LABOUR_MATTER and "CaseloopNextDueAt" in attributes
    summary = description.execution_config.user_metadata.summary.data.decode()
    shown = json.dumps(attributes, ensure_ascii=False) + details + summary + started.handoff_id
    for personal in ("宿遷示例餐飲有限公司", "示例路1號", "13800000041"):
        assert personal not in shown


async def test_a_command_id_reused_for_another_command_after_continue_as_new_is_refused(rig: Rig) -> None:
    # Within a run the server answers a reused update ID with the first outcome; across runs the hand-off checks.
    handle = await next_run_remembering(
        rig,
        "reused",
        handled_commands=["SQ-SCJGJ-0007"],
        handled_as={"SQ-SCJGJ-0007": f"claim by receiver {MARKET_REGULATOR}"},
    )

    with pytest.raises(WorkflowUpdateFailedError) as raised:
        await handle.execute_update(HandoffWorkflow.terminate, withdraw(), id="SQ-SCJGJ-0007")
    details = rejection_of(raised.value)
    assert (details["rule"], details["field"]) == ("command_id.reused", "command_id")
    assert f"claim by receiver {MARKET_REGULATOR}" in details["message"]
    repeated = await handle.execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR), id="SQ-SCJGJ-0007")
    assert repeated.stage is HandoffStage.PUSHED
