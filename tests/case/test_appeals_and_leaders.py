"""Issue 14 on the case: a card revoked on appeal (and its score reversed), the circular and the admonitory talk
scored, and the leaders' joint meeting, requested by the ladder's last rung or by the coordinator."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.store.ledger.cards import Card
from activities.store.ledger.scores import ScoreEvent
from schemas.case import commands as c
from schemas.case.stages import CaseStage, ClockStep, CommitmentDecision, SupervisionLevel
from schemas.clock import DayKind, RungKind
from services.ledger import Ledger
from services.registry.importer import import_registry
from tests.case.driver import Driver, coordinator, lead, locality, send
from tests.case.parties import COORDINATOR, LEAD, LOCALITY
from tests.case.scenarios import wd
from tests.case.test_ladder import rung
from workflows.case.workflow import CaseWorkflow


def _rule(error: WorkflowUpdateFailedError) -> tuple[str | None, str | None]:
    cause = error.cause
    assert isinstance(cause, ApplicationError)
    details = cause.details[0] if cause.details else {}
    assert isinstance(details, dict)
    return details.get("rule"), details.get("field")


async def test_a_card_revoked_on_appeal_no_longer_counts_and_its_score_is_reversed(
    case_worker: Worker, driver: Driver
) -> None:
    handle = await driver.start()
    await handle.execute_update(CaseWorkflow.accept, c.AcceptCase(actor=coordinator))
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=locality))
    await driver.sleep_until(rung(await driver.view(handle), "sign:a1", RungKind.RED))
    view = await driver.view(handle)
    [card] = view.cards
    assert card.card_id is not None and view.card_colour.value == "yellow"

    appeal = c.RevokeCard(actor=coordinator, card_id=card.card_id, reason="the assignment reached the wrong desk")
    for refused, rule in [
        (appeal.model_copy(update={"actor": lead}), "actor.role"),
        (appeal.model_copy(update={"reason": None}), "reason.required"),
        (appeal.model_copy(update={"card_id": "no-such-card"}), "card.unknown"),
    ]:
        with pytest.raises(WorkflowUpdateFailedError) as raised:
            await handle.execute_update(CaseWorkflow.revoke_card, refused)
        assert _rule(raised.value)[0] == rule
    result = await handle.execute_update(CaseWorkflow.revoke_card, appeal)
    assert result.subject_id == card.card_id
    with pytest.raises(WorkflowUpdateFailedError) as raised:
        await handle.execute_update(CaseWorkflow.revoke_card, appeal)
    assert _rule(raised.value) == ("card.revoked", "card_id")

    view = await driver.view(handle)
    [revoked] = view.cards
    assert (revoked.revoked_by, revoked.revocation_reason) == (COORDINATOR, "the assignment reached the wrong desk")
    assert revoked.revoked_at is not None and view.card_colour.value == "none"
    async with driver.sessions() as session:
        stored = await session.get(Card, card.card_id)
        assert stored is not None
        assert (stored.revoked_by, stored.revocation_reason) == (COORDINATOR, "the assignment reached the wrong desk")
        points = {
            event.kind: event.points
            for event in await session.scalars(select(ScoreEvent).where(ScoreEvent.subject_id == handle.id))
        }
    assert points == {"card_yellow": Decimal("-0.50"), "card_revoked": Decimal("0.50")}
    audit = await driver.audit(handle.id)
    assert [(e.actor, e.action) for e in audit][-1] == ("coordinator", "card_revoked")
    assert (await driver.pushes(handle.id))[-1] == (LEAD, "card")


async def test_the_ladder_scores_its_last_rungs_and_reports_the_case_to_the_leaders(
    case_worker: Worker, driver: Driver, tmp_path: Path
) -> None:
    rungs = tmp_path / "leaders.yaml"
    rungs.write_text(
        "leaders_rungs:\n  - {matter: M-PERMIT, after: 2 working-days, limit: 3 working-days}\n", encoding="utf-8"
    )
    await import_registry(driver.sessions, [rungs])
    handle = await driver.start()
    await handle.execute_update(CaseWorkflow.accept, c.AcceptCase(actor=coordinator))
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=locality))
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=lead))
    await handle.execute_update(CaseWorkflow.commit, c.FileCommitment(actor=lead, limit=wd(10), plan="the plan"))
    await handle.execute_update(CaseWorkflow.cosign_commitment, c.CosignCommitment(actor=locality))
    await handle.execute_update(
        CaseWorkflow.decide_commitment, c.DecideCommitment(actor=coordinator, decision=CommitmentDecision.ACCEPT)
    )
    view = await driver.view(handle)
    [deadline] = [clock for clock in view.clocks if clock.key == "deadline"]
    assert deadline.explanation is not None and deadline.explanation.skipped[DayKind.WEEKEND] >= 2
    # A deadline in a year without an official notice says so, and which year.
    assert deadline.explanation.estimated == bool(deadline.explanation.estimated_years)

    # The committed deadline passes and the ladder climbs to the admonitory talk; two working days later, the step
    # still overdue, the leaders' rung reports the case to the city leaders' joint meeting.
    await driver.sleep_until(rung(view, "deadline", RungKind.ADMONITORY_TALK))
    view = await driver.view(handle)
    assert view.supervision_level is SupervisionLevel.ADMONITORY_TALK and view.meetings == []
    [leaders] = [clock for clock in view.clocks if clock.step is ClockStep.LEADERS_RUNG]
    assert (leaders.key, leaders.department) == ("leaders_rung:deadline", LEAD)
    await driver.sleep_until(rung(view, "leaders_rung:deadline", RungKind.RED))
    view = await driver.view(handle)
    assert not [clock for clock in view.clocks if clock.step is ClockStep.LEADERS_RUNG]
    assert view.supervision_level is SupervisionLevel.LEADERS_MEETING
    [meeting] = view.meetings
    assert (meeting.meeting_id, meeting.requested_by, meeting.departments) == ("m1", None, [LEAD, LOCALITY])
    [clock] = [clock for clock in view.clocks if clock.step is ClockStep.JOINT_MEETING]
    assert clock.department == COORDINATOR and clock.due_at == meeting.due_at and meeting.due_at is not None
    async with driver.sessions() as session:
        events = await session.scalars(
            select(ScoreEvent).where(ScoreEvent.subject_id == handle.id).order_by(ScoreEvent.occurred_at)
        )
        ladder = [
            (e.department_code, e.kind, e.points)
            for e in events
            if (e.note or "").startswith(("circular: deadline", "admonitory_talk: deadline"))
        ]
    assert ladder == [(LEAD, "circular", Decimal(-1)), (LEAD, "admonitory_talk", Decimal(-2))]

    # A second request waits for the first meeting's outcome; the coordinator records it, and may request again.
    request = c.RequestJointMeeting(actor=coordinator, reason="the water department must join", departments=[LEAD])
    with pytest.raises(WorkflowUpdateFailedError) as raised:
        await handle.execute_update(CaseWorkflow.request_joint_meeting, request)
    assert _rule(raised.value) == ("meeting.open", "reason")
    outcome = c.RecordMeetingOutcome(actor=coordinator, meeting_id="m1", outcome="the lead closes within a week")
    await handle.execute_update(CaseWorkflow.record_meeting_outcome, outcome)
    with pytest.raises(WorkflowUpdateFailedError) as raised:
        await handle.execute_update(
            CaseWorkflow.request_joint_meeting, request.model_copy(update={"departments": ["SQ-NOWHERE"]})
        )
    assert _rule(raised.value) == ("meeting.department", "departments.0")
    result = await handle.execute_update(CaseWorkflow.request_joint_meeting, request)
    assert result.subject_id == "m2"

    view = await driver.view(handle)
    assert [(m.meeting_id, m.outcome, m.requested_by is None) for m in view.meetings] == [
        ("m1", "the lead closes within a week", True),
        ("m2", None, False),
    ]
    assert view.stage is CaseStage.IN_PROGRESS
    stored = await Ledger(driver.sessions).joint_meetings(handle.id)
    assert [(m.meeting_id, m.departments, m.outcome, m.requested_by) for m in stored] == [
        (f"{handle.id}.m1", [LEAD, LOCALITY], "the lead closes within a week", None),
        (f"{handle.id}.m2", [LEAD], None, COORDINATOR),
    ]
    actions = [e.action for e in await driver.audit(handle.id)]
    assert actions[-3:] == ["joint_meeting_requested", "joint_meeting_decided", "joint_meeting_requested"]
    assert actions.index("admonitory_talk") < actions.index("joint_meeting_requested")

    # The meeting's own clock runs on the legal calendar: at its deadline the coordinator is reminded.
    await driver.sleep_until(rung(view, "joint_meeting:m2", RungKind.RED))
    reminded = [
        e for e in await driver.audit(handle.id) if e.action == "reminder" and "joint_meeting" in (e.reason or "")
    ]
    assert [e.reason.split(" — ")[0] for e in reminded if e.reason] == [f"{COORDINATOR}: joint_meeting"]
    await handle.execute_update(CaseWorkflow.terminate, c.TerminateCase(actor=coordinator, reason="test over"))


async def test_a_continued_run_shows_the_summary_line_again(case_worker: Worker, driver: Driver) -> None:
    """Continue-as-new cannot carry the start's static summary: the new run's details begin with it."""
    handle = await driver.start(policy={"max_history_events": 50})
    await send(handle, CaseWorkflow.accept, c.AcceptCase(actor=coordinator))
    await send(handle, CaseWorkflow.sign, c.SignAssignment(actor=lead))
    await send(handle, CaseWorkflow.sign, c.SignAssignment(actor=locality))
    await driver.settle()
    assert (await driver.view(handle)).runs > 1
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    number = handle.id.split("~")[1]
    assert metadata.current_details.split("\n")[0] == (
        f"**case {number} from hotline · matter M-PERMIT · locality SQ-SUYU · normal**"
    )
    await send(handle, CaseWorkflow.terminate, c.TerminateCase(actor=coordinator, reason="test over"))
