"""Bounded inputs: a package or details too heavy, a batch too large for one workflow, a date outside the window,
and a monthly letter too long for a payload. Each is refused with its rule and field, or cut to fit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from activities.handoff.reconciliation import read_report
from activities.store.handoff_events import HandoffEvent
from caseloop.direct.intake import batch_parts
from schemas.handoff import (
    BATCH_WORKFLOW_BYTES,
    BATCH_WORKFLOW_EVENTS,
    FINDINGS_PER_FEEDBACK,
    PACKAGE_MAX_BYTES,
    EventBatch,
    EventOutcome,
    HandoffStage,
    HandoffState,
    ReconciliationRun,
    ReconciliationSummary,
    SendFeedback,
    SourceEvent,
    batch_workflow_id,
)
from schemas.registry import TriggerEvent
from schemas.rejections import Rejected
from tests.handoff.builders import MARKET_REGULATOR, a_start, an_event, receiver
from tests.handoff.conftest import APPROVAL_BUREAU, LABOUR_DISPATCH, Rig
from tests.handoff.scenario import closed_approval, penalty
from workflows.handoff.machine import check
from workflows.handoff.reconciliation import HandoffReconciliationWorkflow

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
# 3 bytes a character in UTF-8, 1 to 2 more in JSON quoting: the cap counts what the payload carries.
HEAVY = "宿" * (PACKAGE_MAX_BYTES // 3)


def refusal(model: type[Any], **values: object) -> tuple[str, str]:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(values)
    [error] = raised.value.errors()
    return error["type"], ".".join(str(part) for part in error["loc"])


# Sizes.


def test_a_package_over_the_cap_is_refused_naming_the_rule_and_the_field() -> None:
    event = an_event().model_dump()
    assert refusal(SourceEvent, **{**event, "package": {"scan": HEAVY}}) == ("package.too-large", "package")
    fitting = {"scan": "宿" * (PACKAGE_MAX_BYTES // 4)}
    assert SourceEvent.model_validate({**event, "package": fitting}).package == fitting


def test_feedback_details_over_the_cap_and_too_many_findings_are_refused() -> None:
    actor = receiver().model_dump()
    assert refusal(SendFeedback, actor=actor, result="done", details={"report": HEAVY}) == (
        "details.too-large",
        "details",
    )
    findings = [penalty(NOW).model_dump() for _ in range(FINDINGS_PER_FEEDBACK + 1)]
    assert refusal(SendFeedback, actor=actor, result="done", findings=findings) == ("too_long", "findings")


def test_a_batch_is_cut_by_bytes_as_well_as_by_count() -> None:
    heavy = [an_event(f"SQ-HEAVY-{n}", package={"scan": "x" * (200 << 10)}) for n in range(12)]
    parts = batch_parts(heavy)
    assert [event for part in parts for event in part] == heavy, "in order, none lost"
    assert len(parts) > 1
    assert all(sum(len(event.model_dump_json().encode()) for event in part) <= BATCH_WORKFLOW_BYTES for part in parts)
    assert batch_parts(heavy) == parts, "the same batch always cuts the same way"

    light = [an_event(f"SQ-LIGHT-{n}") for n in range(BATCH_WORKFLOW_EVENTS * 2 + 1)]
    assert [len(part) for part in batch_parts(light)] == [BATCH_WORKFLOW_EVENTS, BATCH_WORKFLOW_EVENTS, 1]


async def test_a_heavy_batch_never_gives_a_workflow_an_input_near_the_payload_limit(rig: Rig) -> None:
    now = await rig.env.get_current_time()
    events = [
        closed_approval(
            LABOUR_DISPATCH,
            reference=f"SQ-SCAN-{n:03d}",
            event=TriggerEvent.ENTERPRISE_CHANGED,
            item_code=None,
            occurred_at=now,
            package={"scan": "宿" * (80 << 10)},  # 240 KB as UTF-8
        )
        for n in range(10)
    ]
    report = await rig.report_batch(EventBatch(batch_id="SQ-SPJ-scans", events=events))
    assert report.count(EventOutcome.STARTED) == len(events)

    inputs: list[int] = []
    for part in range(len(batch_parts(events))):
        handle = rig.client.get_workflow_handle(batch_workflow_id(APPROVAL_BUREAU, "SQ-SPJ-scans", part))
        started = (await handle.fetch_history()).events[0].workflow_execution_started_event_attributes
        inputs.extend(len(payload.data) for payload in started.input.payloads)
    assert len(inputs) > 1, "more than one batch workflow"
    assert max(inputs) <= BATCH_WORKFLOW_BYTES + (4 << 10), "each input about a megabyte at most, half the limit"


# The monthly letter.


async def test_the_reconciliation_answers_the_stored_letters_id_and_counts(rig: Rig) -> None:
    started = [(await rig.report(closed_approval(LABOUR_DISPATCH))).handoffs[0].handoff_id for _ in range(3)]
    for handoff in started:
        await rig.until_stage(handoff, HandoffStage.PUSHED)
        await rig.trail_until(handoff, "pushed")
    summary = await rig.client.execute_workflow(
        HandoffReconciliationWorkflow.run,
        ReconciliationRun(as_of=await rig.env.get_current_time() + timedelta(days=60)),
        id=f"handoff-reconciliation-{started[0]}",
        task_queue=rig.task_queue,
    )
    assert isinstance(summary, ReconciliationSummary)
    assert summary.open_past_limit >= 3
    assert sum(d.open_past_limit for d in summary.departments) == summary.open_past_limit
    letter = await read_report(rig.sessions, summary.report_id)
    assert letter is not None
    listed = {loop.handoff_id for department in letter.departments for loop in department.loops}
    assert set(started) <= listed


# Dates.


@pytest.mark.parametrize(
    "occurred_at", [datetime(9999, 12, 31, tzinfo=UTC), datetime(1900, 1, 1, tzinfo=UTC)], ids=["9999", "1900"]
)
async def test_an_event_dated_outside_the_window_is_rejected_alone(rig: Rig, occurred_at: datetime) -> None:
    now = await rig.env.get_current_time()
    wrong = closed_approval(LABOUR_DISPATCH, occurred_at=occurred_at)
    report = await rig.report(wrong)
    assert report.outcome is EventOutcome.REJECTED and report.rejection is not None
    assert (report.rejection.rule, report.rejection.field) == ("event.occurred-at", "occurred_at")
    async with rig.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(HandoffEvent)) == 0, "nothing recorded"

    # In a batch, the rest of its chunk is admitted.
    right = closed_approval(LABOUR_DISPATCH, occurred_at=now - timedelta(hours=1))
    batch = await rig.report_batch(EventBatch(batch_id=f"SQ-SPJ-dates-{occurred_at.year}", events=[right, wrong]))
    assert [event.outcome for event in batch.reports] == [EventOutcome.STARTED, EventOutcome.REJECTED]
    assert batch.reports[1].rejection is not None and batch.reports[1].rejection.field == "occurred_at"


def test_a_finding_dated_outside_the_window_is_refused_before_the_feedback_is_recorded() -> None:
    claimed = HandoffState(stage=HandoffStage.CLAIMED, receiver_code=MARKET_REGULATOR, version=1, claimed_at=NOW)
    for decided_at in (datetime(9999, 1, 1, tzinfo=UTC), NOW + timedelta(days=2), datetime(1999, 12, 31, tzinfo=UTC)):
        command = SendFeedback(actor=receiver(), result="found false", findings=[penalty(NOW), penalty(decided_at)])
        with pytest.raises(Rejected) as raised:
            check(command, claimed, a_start(), NOW)
        assert (raised.value.rejection.rule, raised.value.rejection.field) == (
            "finding.decided-at",
            "findings.1.decided_at",
        )
    within = SendFeedback(actor=receiver(), result="found false", findings=[penalty(NOW + timedelta(hours=20))])
    check(within, claimed, a_start(), NOW)
