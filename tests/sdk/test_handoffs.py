"""A whole double loop through the SDK and the front door on the dev server, with the Suqian sample registry, each
department with its own key: a public-place health licence granted by the approval bureau is pushed to the health
commission (loop 1), whose finding goes back to the approval bureau (loop 2); both loops close. Also batches,
duplicates, rejections and the inbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from caseloop import Forbidden, InputRejected, NotFound
from schemas.handoff import EventOutcome, FindingKind, HandoffStage, HandoffView, SourceEvent, SourceWithdrawal
from schemas.registry import HandoffDirection, TriggerEvent
from tests.sdk.conftest import Connect
from tests.support.department_world import APPROVAL_BUREAU, HEALTH_COMMISSION, eventually

LICENCE_TO_HEALTH = "SQ-SG-GGCSWS"  # 公共場所衛生許可 → 衛生監督, claimed on push
FALSE_PLEDGE_BACK = "SQ-GS-CNBS"  # 告知承諾不實 → 撤銷許可


def licence_granted(reference: str) -> SourceEvent:
    """The approval bureau granted a public-place health licence (its approval case closed)."""
    return SourceEvent(
        source_department=APPROVAL_BUREAU,
        reference=reference,
        event=TriggerEvent.CASE_CLOSED,
        item_code="SP-GGCSWS",
        occurred_at=datetime.now(UTC),
        decision="grant",
        package={"licence_no": "SW-2026-0001", "entity": "示例浴室有限公司", "pledge": True},
    )


async def test_a_licence_pushed_to_the_regulator_and_a_finding_pushed_back(connect: Connect) -> None:
    approval = await connect(APPROVAL_BUREAU)
    health = await connect(HEALTH_COMMISSION)
    reference = f"SQ-SP-{uuid.uuid4().hex[:10]}"
    report = await approval.report_event(licence_granted(reference))
    assert report.outcome is EventOutcome.STARTED
    [started] = report.handoffs
    assert (started.matter_code, started.receiver_code) == (LICENCE_TO_HEALTH, HEALTH_COMMISSION)
    again = await approval.report_event(licence_granted(reference))
    assert again.outcome is EventOutcome.DUPLICATE and again.handoffs == report.handoffs
    with pytest.raises(Forbidden):
        await health.report_event(licence_granted(reference))  # an event is its own department's to report

    loop_one = health.handoff(started.handoff_id, actor="receiver")
    claimed = await eventually(loop_one.view, lambda view: view.stage is HandoffStage.CLAIMED)
    assert claimed.claimed_on_push and claimed.direction is HandoffDirection.APPROVAL_TO_SUPERVISION

    with pytest.raises(Forbidden):
        await approval.handoff(started.handoff_id).start_acting(actor="receiver", measure="inspect")
    with pytest.raises(Forbidden):
        await health.handoff(started.handoff_id).start_acting(actor=f"receiver:{APPROVAL_BUREAU}", measure="inspect")

    await loop_one.start_acting(measure="on-site inspection of the hygiene pledge")
    finding = {"kind": FindingKind.FALSE_PLEDGE, "reference": f"宿衛監〔{uuid.uuid4().hex[:6]}〕號"}
    sent = await loop_one.send_feedback(
        result="the ventilation pledged is missing", findings=[{**finding, "decided_at": datetime.now(UTC)}]
    )
    assert sent.stage is HandoffStage.FEEDBACK_SENT
    [loop_two_id] = sent.loop_two
    closed = await approval.handoff(started.handoff_id).acknowledge(actor="originator", remark="licence under review")
    assert closed.stage is HandoffStage.LOOP_CLOSED

    loop_two = approval.handoff(loop_two_id, actor="receiver")
    pushed = await eventually(loop_two.view, lambda view: view.stage is HandoffStage.PUSHED)
    assert (pushed.matter_code, pushed.thread_id, pushed.receiver_code) == (
        FALSE_PLEDGE_BACK,
        started.handoff_id,
        APPROVAL_BUREAU,
    )
    await loop_two.claim(command_id=f"claim-{loop_two_id}"[:100])
    repeat = await loop_two.claim(command_id=f"claim-{loop_two_id}"[:100])
    assert repeat.stage is HandoffStage.CLAIMED, "the same claim again changes nothing"
    await loop_two.send_feedback(result="licence revoked", details={"decision": "撤銷"})
    done: HandoffView = await health.handoff(loop_two_id).acknowledge(actor=f"originator:{HEALTH_COMMISSION}")
    assert done.stage is HandoffStage.LOOP_CLOSED and done.feedback is not None

    closed_loops = await eventually(
        lambda: approval.list_handoffs(matter=[LICENCE_TO_HEALTH, FALSE_PLEDGE_BACK], stage="loop_closed", limit=None),
        lambda found: {started.handoff_id, loop_two_id} <= {summary.handoff_id for summary in found},
    )
    by_id = {summary.handoff_id: summary for summary in closed_loops}
    assert by_id[started.handoff_id].receiver == HEALTH_COMMISSION
    assert by_id[loop_two_id].direction is HandoffDirection.SUPERVISION_TO_APPROVAL
    backwards = await approval.list_handoffs(receiver=APPROVAL_BUREAU, direction="supervision_to_approval", limit=None)
    assert loop_two_id in {summary.handoff_id for summary in backwards}
    assert await approval.count_handoffs(matter=LICENCE_TO_HEALTH, stage="loop_closed") >= 1

    inbox = await health.read_inbox(include_acknowledged=True, limit=1000)
    [push] = [item for item in inbox.items if item.subject_id == started.handoff_id and item.kind == "handoff_push"]
    with pytest.raises(NotFound):
        await approval.acknowledge_inbox_item(push.item_id, by="spj-system")  # another department's item
    with pytest.raises(Forbidden):
        await approval.read_inbox(HEALTH_COMMISSION)
    taken = await health.acknowledge_inbox_item(push.item_id, by="wjw-system")
    assert taken.acknowledged_by == "wjw-system"


async def test_a_batch_reports_each_event_with_its_own_outcome(connect: Connect) -> None:
    approval = await connect(APPROVAL_BUREAU)
    batch_id = f"nightly-{uuid.uuid4().hex[:8]}"
    granted = licence_granted(f"SQ-SP-{uuid.uuid4().hex[:10]}")
    nowhere = licence_granted(f"SQ-SP-{uuid.uuid4().hex[:10]}").model_copy(update={"locality_code": "SQ-NOWHERE"})
    report = await approval.report_events([granted, nowhere], batch_id=batch_id)
    assert [item.outcome for item in report.reports] == [EventOutcome.STARTED, EventOutcome.REJECTED]
    again = await approval.report_events([granted, nowhere], batch_id=batch_id)
    assert again.reports[0].outcome is EventOutcome.DUPLICATE

    with pytest.raises(InputRejected) as refused:
        await approval.report_event(nowhere)
    assert refused.value.rule is not None and "SQ-NOWHERE" in str(refused.value)
    with pytest.raises(InputRejected) as invalid:
        await approval.report_event(reference="x-1", event="issue_raised", occurred_at=datetime.now(UTC))
    assert invalid.value.rule == "value_error"

    withdrawal = SourceWithdrawal(
        source_department=APPROVAL_BUREAU,
        event=TriggerEvent.CASE_CLOSED,
        reference=granted.reference,
        reason="the applicant withdrew the application",
    )
    terminated = await approval.withdraw_source(withdrawal)
    assert terminated.terminated == [started.handoff_id for started in report.reports[0].handoffs]
    assert (await approval.withdraw_source(withdrawal)).already_closed == terminated.terminated
    view = await approval.handoff(terminated.terminated[0]).view()
    assert view.stage is HandoffStage.TERMINATED
    with pytest.raises(InputRejected):
        await approval.withdraw_source(event="case_closed", reference="never-reported", reason="none")
