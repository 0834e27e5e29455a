"""A whole double loop through the SDK on the dev server, with the Suqian sample registry: a public-place health
licence granted by the approval bureau is pushed to the health commission (loop 1), whose finding goes back to
the approval bureau (loop 2); both loops close. Also batches, duplicates, rejections and the inbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from caseloop import CaseClient, InputRejected
from schemas.handoff import EventOutcome, FindingKind, HandoffStage, HandoffView, SourceEvent, SourceWithdrawal
from schemas.registry import HandoffDirection, TriggerEvent
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


async def test_a_licence_pushed_to_the_regulator_and_a_finding_pushed_back(client: CaseClient) -> None:
    reference = f"SQ-SP-{uuid.uuid4().hex[:10]}"
    report = await client.report_event(licence_granted(reference))
    assert report.outcome is EventOutcome.STARTED
    [started] = report.handoffs
    assert (started.matter_code, started.receiver_code) == (LICENCE_TO_HEALTH, HEALTH_COMMISSION)
    again = await client.report_event(licence_granted(reference))
    assert again.outcome is EventOutcome.DUPLICATE and again.handoffs == report.handoffs

    loop_one = client.handoff(started.handoff_id, actor=f"receiver:{HEALTH_COMMISSION}")
    claimed = await eventually(loop_one.view, lambda view: view.stage is HandoffStage.CLAIMED)
    assert claimed.claimed_on_push and claimed.direction is HandoffDirection.APPROVAL_TO_SUPERVISION

    with pytest.raises(InputRejected) as not_the_receiver:
        await loop_one.start_acting(actor=f"receiver:{APPROVAL_BUREAU}", measure="inspect")
    assert (not_the_receiver.value.rule, not_the_receiver.value.field) == ("actor.receiver", "actor")

    await loop_one.start_acting(measure="on-site inspection of the hygiene pledge")
    finding = {"kind": FindingKind.FALSE_PLEDGE, "reference": f"宿衛監〔{uuid.uuid4().hex[:6]}〕號"}
    sent = await loop_one.send_feedback(
        result="the ventilation pledged is missing", findings=[{**finding, "decided_at": datetime.now(UTC)}]
    )
    assert sent.stage is HandoffStage.FEEDBACK_SENT
    [loop_two_id] = sent.loop_two
    closed = await loop_one.acknowledge(actor=f"originator:{APPROVAL_BUREAU}", remark="licence under review")
    assert closed.stage is HandoffStage.LOOP_CLOSED

    loop_two = client.handoff(loop_two_id, actor=f"receiver:{APPROVAL_BUREAU}")
    pushed = await eventually(loop_two.view, lambda view: view.stage is HandoffStage.PUSHED)
    assert (pushed.matter_code, pushed.thread_id, pushed.receiver_code) == (
        FALSE_PLEDGE_BACK,
        started.handoff_id,
        APPROVAL_BUREAU,
    )
    await loop_two.claim(command_id=f"claim-{loop_two_id}")
    repeat = await loop_two.claim(command_id=f"claim-{loop_two_id}")
    assert repeat.stage is HandoffStage.CLAIMED, "the same claim again changes nothing"
    await loop_two.send_feedback(result="licence revoked", details={"decision": "撤銷"})
    done: HandoffView = await loop_two.acknowledge(actor=f"originator:{HEALTH_COMMISSION}")
    assert done.stage is HandoffStage.LOOP_CLOSED and done.feedback is not None

    closed_loops = await eventually(
        lambda: client.list_handoffs(matter=[LICENCE_TO_HEALTH, FALSE_PLEDGE_BACK], stage="loop_closed", limit=None),
        lambda found: {started.handoff_id, loop_two_id} <= {summary.handoff_id for summary in found},
    )
    by_id = {summary.handoff_id: summary for summary in closed_loops}
    assert by_id[started.handoff_id].receiver == HEALTH_COMMISSION
    assert by_id[loop_two_id].direction is HandoffDirection.SUPERVISION_TO_APPROVAL
    backwards = await client.list_handoffs(receiver=APPROVAL_BUREAU, direction="supervision_to_approval", limit=None)
    assert loop_two_id in {summary.handoff_id for summary in backwards}
    assert await client.count_handoffs(matter=LICENCE_TO_HEALTH, stage="loop_closed") >= 1

    inbox = await client.read_inbox(HEALTH_COMMISSION, include_acknowledged=True, limit=1000)
    [push] = [item for item in inbox.items if item.subject_id == started.handoff_id and item.kind == "handoff_push"]
    taken = await client.acknowledge_inbox_item(push.item_id, by="wjw-system")
    assert taken.acknowledged_by == "wjw-system"


async def test_a_batch_reports_each_event_with_its_own_outcome(client: CaseClient) -> None:
    batch_id = f"nightly-{uuid.uuid4().hex[:8]}"
    granted = licence_granted(f"SQ-SP-{uuid.uuid4().hex[:10]}")
    unknown = licence_granted(f"SQ-SP-{uuid.uuid4().hex[:10]}").model_copy(update={"source_department": "SQ-NOBODY"})
    report = await client.report_events([granted, unknown], batch_id=batch_id)
    assert [item.outcome for item in report.reports] == [EventOutcome.STARTED, EventOutcome.REJECTED]
    again = await client.report_events([granted, unknown], batch_id=batch_id)
    assert again.reports[0].outcome is EventOutcome.DUPLICATE

    with pytest.raises(InputRejected) as refused:
        await client.report_event(unknown)
    assert refused.value.rule is not None and "SQ-NOBODY" in str(refused.value)
    with pytest.raises(InputRejected) as invalid:
        await client.report_event(
            source_department=APPROVAL_BUREAU, reference="x-1", event="issue_raised", occurred_at=datetime.now(UTC)
        )
    assert invalid.value.rule == "value_error"

    withdrawal = SourceWithdrawal(
        source_department=APPROVAL_BUREAU,
        event=TriggerEvent.CASE_CLOSED,
        reference=granted.reference,
        reason="the applicant withdrew the application",
    )
    terminated = await client.withdraw_source(withdrawal)
    assert terminated.terminated == [started.handoff_id for started in report.reports[0].handoffs]
    assert (await client.withdraw_source(withdrawal)).already_closed == terminated.terminated
    view = await client.handoff(terminated.terminated[0]).view()
    assert view.stage is HandoffStage.TERMINATED
    with pytest.raises(InputRejected):
        await client.withdraw_source(
            source_department=APPROVAL_BUREAU, event="case_closed", reference="never-reported", reason="none"
        )
