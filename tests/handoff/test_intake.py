"""The trigger API as departments call it: one event, the same event twice, bad events, and a nightly batch."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from activities.store.delivery import InboxEntry
from activities.store.handoff_events import HandoffEvent
from caseloop.direct.intake import withdraw_source
from schemas.handoff import EventBatch, EventOutcome, HandoffStage, SourceWithdrawal
from schemas.registry import TriggerEvent
from tests.handoff.conftest import INBOX_BUREAU, LABOUR_DISPATCH, LABOUR_MATTER, MARKET_REGULATOR, Rig
from tests.handoff.scenario import claim, closed_approval
from workflows.handoff.entity import HandoffWorkflow

BATCH = 200


async def test_a_duplicated_event_starts_nothing_new(rig: Rig) -> None:
    event = closed_approval(LABOUR_DISPATCH)
    first = await rig.report(event)
    await rig.until_stage(first.handoffs[0].handoff_id, HandoffStage.PUSHED)
    second = await rig.report(event)

    assert (first.outcome, second.outcome) == (EventOutcome.STARTED, EventOutcome.DUPLICATE)
    assert first.handoffs == second.handoffs and first.handoffs[0].matter_code == LABOUR_MATTER
    async with rig.sessions() as session:
        events = await session.scalar(select(func.count()).select_from(HandoffEvent))
    assert events == 1
    pushes = [r for r in rig.receiver.requests if r.status == 200]
    assert len(pushes) == 1


async def test_an_event_no_matter_takes_is_reported_unmatched_with_the_rule(rig: Rig) -> None:
    report = await rig.report(closed_approval("SP-NOT-COLLABORATED"))
    assert report.outcome is EventOutcome.UNMATCHED and not report.handoffs
    assert report.rejection is not None and report.rejection.rule == "event.unmatched"
    again = await rig.report(closed_approval("SP-NOT-COLLABORATED", reference=report.event_key.rsplit(":", 1)[1]))
    assert again.outcome is EventOutcome.DUPLICATE


async def test_an_event_from_an_unknown_department_is_rejected_and_may_be_reported_again(rig: Rig) -> None:
    event = closed_approval(LABOUR_DISPATCH, source_department="SQ-NO-SUCH-BUREAU")
    report = await rig.report(event)
    assert report.outcome is EventOutcome.REJECTED and report.rejection is not None
    assert (report.rejection.rule, report.rejection.field) == ("event.unknown-department", "source_department")
    assert "SQ-NO-SUCH-BUREAU" in report.rejection.message
    again = await rig.report(event)
    assert again.outcome is EventOutcome.REJECTED, "a failed intake does not block a corrected report"
    async with rig.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(HandoffEvent)) == 0


async def test_a_batch_of_200_events_becomes_200_handoffs_each_pushed_once(rig: Rig) -> None:
    now = await rig.env.get_current_time()
    events = [
        closed_approval(
            LABOUR_DISPATCH,
            reference=f"SQ-NIGHTLY-{n:04d}",
            event=TriggerEvent.ENTERPRISE_CHANGED,
            item_code=None,
            occurred_at=now - timedelta(minutes=n),
        )
        for n in range(BATCH)
    ]
    batch = EventBatch(batch_id="SQ-SPJ-nightly-export", events=events)

    report = await rig.report_batch(batch)
    assert report.count(EventOutcome.STARTED) == BATCH
    handoffs = [handoff for event in report.reports for handoff in event.handoffs]
    assert len({handoff.handoff_id for handoff in handoffs}) == BATCH
    assert {handoff.receiver_code for handoff in handoffs} == {INBOX_BUREAU}

    again = await rig.report_batch(batch)
    assert again.count(EventOutcome.DUPLICATE) == BATCH

    for _ in range(400):  # every hand-off pushes its package into the bureau's inbox, once
        async with rig.sessions() as session:
            inboxed = await session.scalar(select(func.count()).select_from(InboxEntry))
        if inboxed == BATCH:
            break
        await rig.env.sleep(timedelta(seconds=1))
    assert inboxed == BATCH
    claimed = await rig.until_stage(handoffs[-1].handoff_id, HandoffStage.CLAIMED)
    assert claimed.claimed_on_push


async def test_withdrawing_the_source_terminates_its_handoffs_once(rig: Rig) -> None:
    event = closed_approval(LABOUR_DISPATCH)
    [started] = (await rig.report(event)).handoffs
    await rig.until_stage(started.handoff_id, HandoffStage.PUSHED)
    await rig.handle(started.handoff_id).execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR))
    withdrawal = SourceWithdrawal(
        source_department=event.source_department,
        event=event.event,
        reference=event.reference,
        reason="the applicant withdrew the application",
    )

    report = await withdraw_source(rig.client, withdrawal, rig.task_queue)
    assert report.terminated == [started.handoff_id] and report.rejection is None
    final = await rig.handle(started.handoff_id).result()
    assert final.stage is HandoffStage.TERMINATED
    again = await withdraw_source(rig.client, withdrawal, rig.task_queue)
    assert again.already_closed == [started.handoff_id] and not again.terminated

    unknown = withdrawal.model_copy(update={"reference": "SQ-SP-NEVER-REPORTED"})
    refused = await withdraw_source(rig.client, unknown, rig.task_queue)
    assert refused.rejection is not None and refused.rejection.rule == "withdrawal.unknown-event"
