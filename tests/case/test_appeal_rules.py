"""The rules of issue 14 as pure functions, without Temporal: appeals, the ladder's scores, the leaders' rung and
the joint meeting, and the explanation a running deadline keeps."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from schemas.case import commands as c
from schemas.case.stages import ClockStep, SupervisionLevel
from schemas.case.state import CaseState
from schemas.clock import ClockSpec, ClockUnit, DayKind, DayNote, Deadline, RungKind
from schemas.ledger import CardLevel, CardReason, ScoreKind
from schemas.registry import LeadersRung
from tests.case.parties import COORDINATOR, LEAD, LOCALITY, settle
from tests.case.test_machine import at, coordinator, do, in_progress, launched, lead, locality, wd
from workflows.case import machine
from workflows.case.rules import Rejected


def test_a_revoked_yellow_card_no_longer_makes_the_next_one_red() -> None:
    state = launched()
    settle(state, machine.fire(state, "sign:a1", RungKind.RED, at(10)))
    [card] = state.cards
    assert card.card_id is not None
    with pytest.raises(Rejected) as refused:
        machine.validate(state, c.RevokeCard(actor=coordinator, card_id=card.card_id), at(11))
    assert (refused.value.rule, refused.value.field) == ("reason.required", "reason")
    effects = do(state, c.RevokeCard(actor=coordinator, card_id=card.card_id, reason="wrong desk"), 11)
    assert [(r.card_id, r.revoked_by, r.reason) for r in effects.revocations] == [
        (card.card_id, COORDINATOR, "wrong desk")
    ]
    assert effects.cards == [] and effects.scores == []  # the ledger reverses the card's own score event
    settle(state, machine.fire(state, "sign:a1", RungKind.REMINDER_NOTICE, at(11)))
    do(state, c.SignAssignment(actor=coordinator, department=LEAD), 12)
    do(state, c.SignAssignment(actor=locality), 12)
    effects = settle(state, machine.fire(state, "commit", RungKind.RED, at(60)))
    assert [(card.level, card.reason) for card in effects.cards] == [(CardLevel.YELLOW, CardReason.COMMIT_OVERDUE)]
    assert state.card_colour.value == "yellow"


def test_the_circular_and_the_talk_score_only_on_the_full_ladder() -> None:
    old, new = in_progress(), in_progress()
    for state, full in ((old, False), (new, True)):
        for hours, kind in ((400, RungKind.CIRCULAR), (500, RungKind.ADMONITORY_TALK)):
            settle(state, machine.fire(state, "deadline", kind, at(hours), full_ladder=full))
    assert old.score_events == 0
    effects = settle(new, machine.fire(new, "deadline", RungKind.ESCALATION_3, at(600), full_ladder=True))
    assert [(s.department_code, s.kind) for s in effects.scores] == [(LEAD, ScoreKind.CIRCULAR)]
    assert new.score_events == 3


def _with_leaders_rung() -> CaseState:
    state = in_progress()
    assert state.parties is not None
    state.parties.leaders_rung = LeadersRung(scope="matter:M-PERMIT", limit=wd(3))
    settle(state, machine.fire(state, "deadline", RungKind.ADMONITORY_TALK, at(500), full_ladder=True))
    return state


def test_the_leaders_rung_reports_a_step_still_overdue_to_the_joint_meeting() -> None:
    state = _with_leaders_rung()
    rung = state.clocks["leaders_rung:deadline"]
    assert (rung.step, rung.department, rung.subject) == (ClockStep.LEADERS_RUNG, LEAD, "deadline")
    assert state.meetings == []
    settle(state, machine.fire(state, "leaders_rung:deadline", RungKind.RED, at(620)))
    assert "leaders_rung:deadline" not in state.clocks
    [meeting] = state.meetings
    assert (meeting.meeting_id, meeting.departments, meeting.limit, meeting.requested_by) == (
        "m1",
        [LEAD, LOCALITY],
        wd(3),
        None,
    )
    assert state.clocks["joint_meeting:m1"].department == COORDINATOR
    assert state.supervision_level is SupervisionLevel.LEADERS_MEETING


def test_the_leaders_rung_is_withdrawn_once_the_step_is_done() -> None:
    state = _with_leaders_rung()
    do(state, c.SubmitClosingReport(actor=lead, result="done at last", evidence=["doc-2"]), 510)
    settle(state, machine.fire(state, "leaders_rung:deadline", RungKind.RED, at(620)))
    assert state.meetings == [] and state.timeline[-1].action == "leaders_rung_withdrawn"
    assert state.supervision_level is SupervisionLevel.ADMONITORY_TALK


def test_the_coordinator_requests_a_meeting_and_records_its_outcome() -> None:
    state = in_progress()
    request = c.RequestJointMeeting(actor=coordinator, reason="three districts disagree")
    for refused, rule, field in [
        (request.model_copy(update={"actor": lead}), "actor.role", "actor.role"),
        (request.model_copy(update={"reason": " "}), "reason.required", "reason"),
        (request.model_copy(update={"departments": ["SQ-NOWHERE"]}), "meeting.department", "departments.0"),
        (request.model_copy(update={"departments": [LEAD, LEAD]}), "meeting.department", "departments"),
    ]:
        with pytest.raises(Rejected) as raised:
            machine.validate(state, refused, at(5))
        assert (raised.value.rule, raised.value.field) == (rule, field)
    effects = do(state, request, 5)
    assert effects.subject_id == "m1" and effects.meetings == ["m1"]
    assert [start.key for start in effects.clock_starts] == ["joint_meeting:m1"]
    with pytest.raises(Rejected) as raised:
        machine.validate(state, request, at(6))
    assert raised.value.rule == "meeting.open"
    outcome = c.RecordMeetingOutcome(actor=coordinator, meeting_id="m1", outcome="the lead closes it")
    effects = do(state, outcome, 6)
    assert effects.clock_ends == ["joint_meeting:m1"] and state.meetings[0].decided_by == COORDINATOR
    with pytest.raises(Rejected) as raised:
        machine.validate(state, outcome, at(7))
    assert raised.value.rule == "meeting.decided"


def test_a_deadline_keeps_why_it_falls_then() -> None:
    state = in_progress()
    spec = ClockSpec(started_at=at(0), limit=5, unit=ClockUnit.WORKING_DAYS)
    notes = [
        DayNote(day=date(2027, 1, 1), kind=DayKind.RECEIPT, reason="day of receipt, not counted", counted=False),
        DayNote(day=date(2027, 1, 2), kind=DayKind.WEEKEND, reason="Saturday", counted=False),
        DayNote(day=date(2027, 1, 3), kind=DayKind.HOLIDAY, reason="New Year's Day", counted=False, estimated=True),
        DayNote(day=date(2027, 1, 9), kind=DayKind.MAKEUP_WORKDAY, reason="make-up working day", counted=True),
        DayNote(day=date(2027, 1, 10), kind=DayKind.PAUSED, reason="paused (court)", counted=False),
    ]
    due = at(0) + timedelta(days=9)
    deadline = Deadline(
        clock=spec, due_at=due, last_day=date(2027, 1, 11), estimated=True, estimated_years=[2027], notes=notes
    )
    state.registration.policy.explained_days = 2
    machine.explain(state, "deadline", deadline)
    explanation = state.clocks["deadline"].explanation
    assert explanation is not None
    assert explanation.skipped == {DayKind.RECEIPT: 1, DayKind.WEEKEND: 1, DayKind.HOLIDAY: 1, DayKind.PAUSED: 1}
    assert explanation.makeup_workdays == 1
    assert [note.kind for note in explanation.days] == [DayKind.HOLIDAY, DayKind.MAKEUP_WORKDAY]
    assert explanation.more_days == 1
    assert explanation.summary() == (
        "skipped 1 weekend, 1 holiday, 1 paused (New Year's Day); counted 1 make-up working day(s); estimated (2027)"
    )
