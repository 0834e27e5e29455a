"""The case's pure state machine: every transition and every rule, without Temporal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from caseloop.direct.case_start import summary_of
from schemas.case import commands as c
from schemas.case.stages import (
    AssignmentStatus,
    CardColour,
    CaseStage,
    CommitmentDecision,
    Priority,
    ReturnRuling,
    ReviewVerdict,
    Role,
    SupervisionLevel,
)
from schemas.case.state import CaseState
from schemas.clock import ClockUnit, RungKind
from schemas.delivery import PushKind
from schemas.ledger import CardLevel, CardReason, RatingLevel, ScoreKind, SupervisionOrderStatus
from schemas.registry import Limit
from tests.case.parties import (
    CO_UNIT,
    COORDINATOR,
    LEAD,
    LOCALITY,
    OTHER,
    START,
    SUPERVISOR,
    SYSTEM_CODE,
    new_case,
    settle,
)
from workflows.case import machine, presentation
from workflows.case.effects import Effects
from workflows.case.rules import Rejected

coordinator = c.Actor(department=COORDINATOR, role=Role.COORDINATOR)
lead = c.Actor(department=LEAD, role=Role.LEAD)
locality = c.Actor(department=LOCALITY, role=Role.LOCALITY)
supervisor = c.Actor(department=SUPERVISOR, role=Role.SUPERVISOR)
requester = c.Actor(department=SYSTEM_CODE, role=Role.REQUESTER)


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def wd(amount: int) -> Limit:
    return Limit(amount=Decimal(amount), unit=ClockUnit.WORKING_DAYS)


def do(state: CaseState, command: c.CaseCommand, hours: float = 1) -> Effects:
    return settle(state, machine.apply(state, command, at(hours)))


def launched(**changes: object) -> CaseState:
    state = new_case(**changes)
    do(state, c.AcceptCase(actor=coordinator))
    return state


def committing() -> CaseState:
    state = launched()
    do(state, c.SignAssignment(actor=lead))
    do(state, c.SignAssignment(actor=locality))
    return state


def in_progress() -> CaseState:
    state = committing()
    do(state, c.FileCommitment(actor=lead, limit=wd(15), plan="fix the fire review"), 2)
    do(state, c.CosignCommitment(actor=locality), 2)
    do(state, c.DecideCommitment(actor=coordinator, decision=CommitmentDecision.ACCEPT), 3)
    return state


def submitted() -> CaseState:
    state = in_progress()
    do(state, c.SubmitClosingReport(actor=lead, result="permit issued", evidence=["doc-1"]), 48)
    return state


def reviewed() -> CaseState:
    state = submitted()
    do(state, c.CosignClosingReport(actor=locality), 49)
    do(state, c.ReviewClosingReport(actor=coordinator, verdict=ReviewVerdict.PASS), 50)
    return state


def closed() -> CaseState:
    state = reviewed()
    do(state, c.RateFollowUp(actor=requester, rating=RatingLevel.SATISFIED), 51)
    do(state, c.WriteOff(actor=coordinator), 52)
    return state


def actions(state: CaseState) -> list[str]:
    return [entry.action for entry in state.timeline]


def test_happy_path_runs_every_main_stage_in_order() -> None:
    state = closed()
    assert [(e.action, e.to_stage) for e in state.timeline if e.from_stage != e.to_stage] == [
        ("accepted", CaseStage.ACCEPTED),
        ("launched", CaseStage.LAUNCHED),
        ("all_signed", CaseStage.AWAITING_COMMITMENT),
        ("commitment_accepted", CaseStage.IN_PROGRESS),
        ("closing_report_submitted", CaseStage.CLOSURE_SUBMITTED),
        ("written_off", CaseStage.CLOSED),
    ]
    assert actions(state) == [
        "registered",
        "accepted",
        "launched",
        "signed",
        "signed",
        "all_signed",
        "commitment_filed",
        "commitment_cosigned",
        "commitment_accepted",
        "closing_report_submitted",
        "closing_report_cosigned",
        "review_passed",
        "rated",
        "written_off",
    ]
    assert [e.seq for e in state.timeline] == list(range(1, 15))
    assert state.clocks == {}
    assert state.reopen_closes_at == at(52) + timedelta(days=30)
    assert state.card_colour is CardColour.NONE


def test_launch_dispatches_every_party_with_its_own_sign_clock_and_return_window() -> None:
    state = new_case(co_units=[{"department": CO_UNIT, "mandatory": False}])
    effects = do(state, c.AcceptCase(actor=coordinator))
    assert [(a.assignment_id, a.department, a.party.value, a.mandatory) for a in state.assignments] == [
        ("a1", LEAD, "lead", True),
        ("a2", LOCALITY, "locality", True),
        ("a3", CO_UNIT, "co_unit", False),
    ]
    assert [(p.department_code, p.kind) for p in effects.pushes] == [
        (LEAD, PushKind.CASE_ASSIGNMENT),
        (LOCALITY, PushKind.CASE_ASSIGNMENT),
        (CO_UNIT, PushKind.CASE_ASSIGNMENT),
    ]
    assert [p.push_id for p in effects.pushes] == [f"{state.case_id}.p1", f"{state.case_id}.p3", f"{state.case_id}.p5"]
    assert sorted(state.clocks) == ["sign:a1", "sign:a2", "sign:a3"]
    assert all(a.return_closes_at == at(1) + timedelta(days=2) for a in state.assignments)
    # The optional co-unit's signature is not waited for.
    do(state, c.SignAssignment(actor=lead))
    do(state, c.SignAssignment(actor=locality))
    assert state.stage is CaseStage.AWAITING_COMMITMENT
    assert "commit" in state.clocks and "sign:a3" in state.clocks


def test_the_registry_co_units_are_mandatory_and_not_repeated() -> None:
    state = new_case(co_units=[{"department": LEAD}])
    assert state.parties is not None
    state.parties.co_units = [state.parties.locality.model_copy(update={"code": CO_UNIT, "is_locality": False})]
    do(state, c.AcceptCase(actor=coordinator))
    assert [(a.department, a.mandatory) for a in state.assignments] == [(LEAD, True), (LOCALITY, True), (CO_UNIT, True)]


def test_urgent_case_signs_in_office_hours_and_is_supervised_from_launch() -> None:
    state = launched(priority=Priority.URGENT)
    assert state.clocks["sign:a1"].spec.unit is ClockUnit.OFFICE_HOURS
    assert state.clocks["sign:a1"].spec.limit == 2
    assert [(o.order_id, o.department, o.issued_by) for o in state.orders] == [("o1", LEAD, None)]
    assert state.supervision_level is SupervisionLevel.SUPERVISION_ORDER
    assert "supervision_order:o1" in state.clocks


def test_return_then_reroute_moves_the_lead_to_the_new_department() -> None:
    state = launched()
    do(state, c.RequestReturn(actor=lead, reason="not our duty", legal_basis="city regulation 12"), 2)
    assert state.assignments[0].status is AssignmentStatus.RETURN_REQUESTED
    assert "sign:a1" not in state.clocks and state.clocks["return_ruling:a1"].department == COORDINATOR
    effects = do(
        state,
        c.RuleOnReturn(
            actor=coordinator, department=LEAD, ruling=ReturnRuling.REROUTE, to_department=OTHER, reason="water"
        ),
        3,
    )
    assert [(a.department, a.status) for a in state.assignments] == [
        (LEAD, AssignmentStatus.REROUTED),
        (LOCALITY, AssignmentStatus.PENDING_SIGN),
        (OTHER, AssignmentStatus.PENDING_SIGN),
    ]
    assert state.assignments[0].rerouted_to == "a3"
    assert [p.department_code for p in effects.pushes] == [OTHER]
    assert sorted(state.clocks) == ["sign:a2", "sign:a3"]
    with pytest.raises(Rejected) as rejected:
        do(state, c.SignAssignment(actor=lead))
    assert rejected.value.rule == "actor.department"
    do(state, c.SignAssignment(actor=c.Actor(department=OTHER, role=Role.LEAD)))
    do(state, c.SignAssignment(actor=locality))
    assert state.stage is CaseStage.AWAITING_COMMITMENT
    assert state.clocks["commit"].department == OTHER


def test_upheld_return_is_buck_passing_and_the_assignment_stands_signed() -> None:
    state = launched()
    do(state, c.SignAssignment(actor=locality))
    do(state, c.RequestReturn(actor=lead, reason="not ours", legal_basis="none really"), 2)
    effects = do(
        state, c.RuleOnReturn(actor=coordinator, department=LEAD, ruling=ReturnRuling.UPHOLD, reason="it is yours"), 3
    )
    assert state.assignments[0].status is AssignmentStatus.SIGNED and state.assignments[0].force_signed
    assert [(card.department_code, card.level, card.reason) for card in effects.cards] == [
        (LEAD, CardLevel.YELLOW, CardReason.IMPROPER_RETURN)
    ]
    assert actions(state)[-4:] == ["return_rejected", "card_yellow", "force_signed", "all_signed"]
    assert state.stage is CaseStage.AWAITING_COMMITMENT


def test_coordinator_reroutes_an_unsigned_assignment_on_its_own() -> None:
    state = launched()
    do(state, c.RerouteAssignment(actor=coordinator, department=LOCALITY, to_department=OTHER, reason="wrong place"))
    assert [a.department for a in state.assignments if a.active] == [LEAD, OTHER]


def test_commitment_imposed_by_the_coordinator() -> None:
    state = committing()
    do(state, c.DecideCommitment(actor=coordinator, decision=CommitmentDecision.IMPOSE, limit=wd(12), reason="late"))
    assert state.stage is CaseStage.IN_PROGRESS
    assert state.commitment is not None and state.commitment.imposed
    assert state.clocks["deadline"].spec.started_at == START  # counted from receipt, as the statutory limit
    assert state.committed_due_at == START + timedelta(days=12)
    assert "commit" not in state.clocks and "progress_report" in state.clocks


def test_progress_report_restarts_the_reporting_period() -> None:
    state = in_progress()
    state.report_overdue = True
    do(state, c.ReportProgress(actor=lead, summary="halfway", percent_done=50), 30)
    assert not state.report_overdue
    assert state.clocks["progress_report"].spec.started_at == at(30)


def test_suspension_pauses_the_deadline_and_resume_moves_it() -> None:
    state = in_progress()
    due = state.committed_due_at
    assert due is not None
    do(state, c.SuspendCase(actor=coordinator, reason="expert review"), 10)
    assert state.stage is CaseStage.SUSPENDED and state.clocks["deadline"].sla.suspended
    assert "progress_report" not in state.clocks
    do(state, c.ResumeCase(actor=coordinator), 34)
    assert state.stage is CaseStage.IN_PROGRESS
    assert state.committed_due_at == due + timedelta(hours=24)
    assert actions(state)[-2:] == ["suspended", "resumed"]


def test_extension_approved_moves_the_deadline_and_counts() -> None:
    state = in_progress()
    due = state.committed_due_at
    assert due is not None
    do(state, c.RequestExtension(actor=lead, amount=5, reason="materials late"), 10)
    assert state.stage is CaseStage.EXTENSION_PENDING and "extension_decision" in state.clocks
    do(state, c.DecideExtension(actor=coordinator, approve=True, amount=3), 11)
    assert state.stage is CaseStage.IN_PROGRESS
    assert state.committed_due_at == due + timedelta(days=3)
    with pytest.raises(Rejected) as rejected:
        do(state, c.RequestExtension(actor=lead, amount=2, reason="again"), 12)
    assert rejected.value.rule == "extension.count"


def test_extension_denied_needs_a_reason_and_leaves_the_deadline() -> None:
    state = in_progress()
    due = state.committed_due_at
    do(state, c.RequestExtension(actor=lead, amount=5, reason="materials late"), 10)
    with pytest.raises(Rejected) as rejected:
        do(state, c.DecideExtension(actor=coordinator, approve=False), 11)
    assert rejected.value.rule == "reason.required"
    do(state, c.DecideExtension(actor=coordinator, approve=False, reason="no cause"), 11)
    assert state.committed_due_at == due and state.stage is CaseStage.IN_PROGRESS


def test_redo_from_review_sets_a_new_deadline_from_now_and_scores_it() -> None:
    state = submitted()
    effects = do(
        state,
        c.ReviewClosingReport(actor=coordinator, verdict=ReviewVerdict.REDO, reason="no evidence", redo_limit=wd(5)),
        50,
    )
    assert state.stage is CaseStage.IN_PROGRESS and state.redo_count == 1 and state.closing is None
    assert state.clocks["deadline"].spec.started_at == at(50) and state.clocks["deadline"].spec.limit == 5
    assert [(s.department_code, s.kind) for s in effects.scores] == [(LEAD, ScoreKind.REDO)]


def test_bad_rating_sends_the_case_back_and_is_recorded_against_the_lead() -> None:
    state = reviewed()
    effects = do(
        state, c.RateFollowUp(actor=requester, rating=RatingLevel.VERY_DISSATISFIED, comment="still broken"), 51
    )
    assert [(r.department_code, r.level) for r in effects.ratings] == [(LEAD, RatingLevel.VERY_DISSATISFIED)]
    assert state.stage is CaseStage.IN_PROGRESS and state.redo_count == 1
    assert actions(state)[-2:] == ["rated", "redo_ordered"]


def test_reopen_rebaselines_the_deadline_from_now() -> None:
    state = closed()
    do(state, c.ReopenCase(actor=requester, reason="the leak is back"), 100)
    assert [(e.action, e.to_stage) for e in state.timeline[-2:]] == [
        ("reopened", CaseStage.REOPENED),
        ("rebaselined", CaseStage.IN_PROGRESS),
    ]
    assert state.clocks["deadline"].spec.started_at == at(100) and state.clocks["deadline"].spec.limit == 15
    assert state.reopen_count == 1 and state.closed_at is None


def test_terminate_lifts_open_orders_and_stops_every_clock() -> None:
    state = in_progress()
    do(state, c.IssueSupervisionOrder(actor=supervisor, department=LEAD, content="hurry", reason="leader"), 5)
    do(state, c.TerminateCase(actor=coordinator, reason="merged into case 2026-0002"), 6)
    assert state.stage is CaseStage.TERMINATED and state.clocks == {}
    assert [o.status for o in state.orders] == [SupervisionOrderStatus.LIFTED]


def test_supervision_order_lifecycle_and_weekly_reports_while_supervised() -> None:
    state = in_progress()
    effects = do(
        state, c.IssueSupervisionOrder(actor=supervisor, department=LEAD, content="report weekly", reason="slow"), 5
    )
    assert effects.subject_id == "o1"
    assert [(p.department_code, p.kind) for p in effects.pushes] == [(LEAD, PushKind.SUPERVISION_ORDER)]
    assert [(e.order_id, e.seq, e.action) for e in effects.order_entries] == [("o1", 1, "issued")]
    assert state.orders[0].due_at == at(5) + timedelta(days=15)
    do(state, c.ReportProgress(actor=lead, summary="week 1"), 6)
    assert state.clocks["progress_report"].spec.limit == 5
    do(state, c.ReceiveSupervisionOrder(actor=lead, order_id="o1"), 7)
    do(state, c.AnswerSupervisionOrder(actor=lead, order_id="o1", answer="done"), 8)
    assert "supervision_order:o1" not in state.clocks
    do(state, c.LiftSupervisionOrder(actor=supervisor, order_id="o1"), 9)
    assert [o.status for o in state.orders] == [SupervisionOrderStatus.LIFTED]
    assert actions(state)[-4:] == ["progress_reported", "order_received", "order_answered", "order_lifted"]


def test_a_case_that_misses_sign_commit_and_deadline_climbs_the_ladder() -> None:
    state = launched()
    effects = settle(state, machine.fire(state, "sign:a1", RungKind.RED, at(10)))
    assert [(card.department_code, card.level, card.reason) for card in effects.cards] == [
        (LEAD, CardLevel.YELLOW, CardReason.SIGN_OVERDUE)
    ]
    settle(state, machine.fire(state, "sign:a1", RungKind.REMINDER_NOTICE, at(11)))
    assert state.assignments[0].sign_escalated and state.supervision_level is SupervisionLevel.REMINDER_NOTICE
    do(state, c.SignAssignment(actor=coordinator, department=LEAD), 12)
    do(state, c.SignAssignment(actor=locality), 12)
    effects = settle(state, machine.fire(state, "commit", RungKind.RED, at(60)))
    assert [(card.level, card.reason) for card in effects.cards] == [(CardLevel.RED, CardReason.SECOND_YELLOW)]
    do(state, c.DecideCommitment(actor=coordinator, decision=CommitmentDecision.IMPOSE, limit=wd(10), reason="x"), 61)
    effects = settle(state, machine.fire(state, "deadline", RungKind.RED, at(300)))
    assert [(card.level, card.reason, card.step) for card in effects.cards] == [
        (CardLevel.RED, CardReason.DEADLINE_OVERDUE, "deadline")
    ]
    for hours, kind in ((301, RungKind.REMINDER_NOTICE), (302, RungKind.SUPERVISION_ORDER)):
        settle(state, machine.fire(state, "deadline", kind, at(hours)))
    assert [(o.order_id, o.department, o.issued_by) for o in state.orders] == [("o1", LEAD, None)]
    settle(state, machine.fire(state, "deadline", RungKind.CIRCULAR, at(400)))
    effects = settle(state, machine.fire(state, "deadline", RungKind.ADMONITORY_TALK, at(500)))
    assert [(p.department_code, p.body["rung"]) for p in effects.pushes] == [(LEAD, "admonitory_talk")]
    assert state.supervision_level is SupervisionLevel.ADMONITORY_TALK
    assert state.card_colour is CardColour.RED
    assert [e.action for e in state.timeline if e.actor.role is Role.SYSTEM and e.action != "all_signed"][-9:] == [
        "card_yellow",
        "reminder_notice",
        "sign_escalated",
        "card_red",
        "card_red",
        "reminder_notice",
        "order_issued",
        "circular",
        "admonitory_talk",
    ]


def test_coordinator_steps_earn_reminders_not_cards() -> None:
    state = new_case()
    effects = settle(state, machine.fire(state, "accept", RungKind.RED, at(30)))
    assert effects.cards == []
    assert [(p.department_code, p.kind) for p in effects.pushes] == [(COORDINATOR, PushKind.REMINDER)]
    assert settle(state, machine.fire(state, "accept", RungKind.CIRCULAR, at(60))).pushes == []


def test_an_unknown_matter_rejects_the_registration() -> None:
    state = CaseState(case_id="case-x-1", registration=new_case().registration, registered_at=START)
    machine.refuse_registration(state, "matter M-X does not exist in the registry", at(0))
    assert state.stage is CaseStage.REJECTED and actions(state) == ["registered", "rejected"]


Case = Callable[[], CaseState]


@pytest.mark.parametrize(
    ("setup", "command", "hours", "rule", "field"),
    [
        # wrong actor
        (new_case, c.AcceptCase(actor=lead), 1, "actor.role", "actor.role"),
        (
            new_case,
            c.AcceptCase(actor=c.Actor(department=OTHER, role=Role.COORDINATOR)),
            1,
            "actor.department",
            "actor.department",
        ),
        (
            new_case,
            c.AcceptCase(actor=c.Actor(department=COORDINATOR, role=Role.SYSTEM)),
            1,
            "actor.role",
            "actor.role",
        ),
        (
            launched,
            c.SignAssignment(actor=c.Actor(department=LEAD, role=Role.LOCALITY)),
            1,
            "actor.department",
            "actor.department",
        ),
        (in_progress, c.SubmitClosingReport(actor=locality, result="done"), 5, "actor.role", "actor.role"),
        (
            in_progress,
            c.IssueSupervisionOrder(
                actor=c.Actor(department=OTHER, role=Role.SUPERVISOR), department=LEAD, content="x", reason="y"
            ),
            5,
            "actor.department",
            "actor.department",
        ),
        (
            reviewed,
            c.RateFollowUp(actor=c.Actor(department=OTHER, role=Role.REQUESTER), rating=RatingLevel.SATISFIED),
            51,
            "actor.department",
            "actor.department",
        ),
        (
            in_progress,
            c.CommentOnCase(actor=c.Actor(department=OTHER, role=Role.LEAD), text="hi"),
            5,
            "actor.department",
            "actor",
        ),
        # wrong stage
        (new_case, c.SignAssignment(actor=lead), 1, "stage", "stage"),
        (launched, c.FileCommitment(actor=lead, limit=wd(5), plan="p"), 1, "stage", "stage"),
        (committing, c.SubmitClosingReport(actor=lead, result="done"), 5, "stage", "stage"),
        (in_progress, c.WriteOff(actor=coordinator), 5, "stage", "stage"),
        (in_progress, c.ResumeCase(actor=coordinator), 5, "stage", "stage"),
        (closed, c.TerminateCase(actor=coordinator, reason="x"), 60, "stage", "stage"),
        (
            new_case,
            c.IssueSupervisionOrder(actor=supervisor, department=LEAD, content="x", reason="y"),
            1,
            "stage",
            "stage",
        ),
        # missing reason
        (new_case, c.RejectCase(actor=coordinator), 1, "reason.required", "reason"),
        (new_case, c.RejectCase(actor=coordinator, reason="   "), 1, "reason.required", "reason"),
        (launched, c.RequestReturn(actor=lead, legal_basis="rule 1"), 2, "reason.required", "reason"),
        (
            launched,
            c.RerouteAssignment(actor=coordinator, department=LEAD, to_department=OTHER),
            2,
            "reason.required",
            "reason",
        ),
        (
            committing,
            c.DecideCommitment(actor=coordinator, decision=CommitmentDecision.IMPOSE, limit=wd(5)),
            2,
            "reason.required",
            "reason",
        ),
        (in_progress, c.SuspendCase(actor=coordinator), 5, "reason.required", "reason"),
        (in_progress, c.RequestExtension(actor=lead, amount=2), 5, "reason.required", "reason"),
        (in_progress, c.TerminateCase(actor=coordinator), 5, "reason.required", "reason"),
        (
            in_progress,
            c.IssueSupervisionOrder(actor=supervisor, department=LEAD, content="x"),
            5,
            "reason.required",
            "reason",
        ),
        (
            submitted,
            c.ReviewClosingReport(actor=coordinator, verdict=ReviewVerdict.REDO),
            50,
            "reason.required",
            "reason",
        ),
        (closed, c.ReopenCase(actor=requester), 60, "reason.required", "reason"),
        # bad values and closed windows
        (launched, c.RequestReturn(actor=lead, reason="not ours"), 2, "return.legal-basis", "legal_basis"),
        (
            launched,
            c.RequestReturn(actor=lead, reason="not ours", legal_basis="rule 1"),
            50,
            "return.window-closed",
            "actor",
        ),
        (
            launched,
            c.SignAssignment(actor=coordinator, department=LEAD),
            2,
            "sign.force-before-escalation",
            "department",
        ),
        (
            launched,
            c.RerouteAssignment(actor=coordinator, department=LEAD, to_department=LOCALITY, reason="x"),
            2,
            "reroute.duplicate",
            "to_department",
        ),
        (committing, c.FileCommitment(actor=lead, limit=wd(25), plan="p"), 2, "commitment.statutory-limit", "limit"),
        (
            committing,
            c.FileCommitment(actor=lead, limit=Limit(amount=Decimal(5), unit=ClockUnit.NATURAL_DAYS), plan="p"),
            2,
            "commitment.unit",
            "limit",
        ),
        (
            committing,
            c.DecideCommitment(actor=coordinator, decision=CommitmentDecision.ACCEPT),
            2,
            "commitment.missing",
            None,
        ),
        (in_progress, c.RequestExtension(actor=lead, amount=11, reason="x"), 5, "extension.cap", "amount"),
        (in_progress, c.RequestExtension(actor=lead, amount=1.5, reason="x"), 5, "limit.whole-days", "amount"),
        (
            in_progress,
            c.RequestExtension(actor=lead, amount=2, reason="too late"),
            24 * 16,
            "extension.after-expiry",
            "amount",
        ),
        (in_progress, c.AnswerSupervisionOrder(actor=lead, order_id="o9", answer="x"), 5, "order.unknown", "order_id"),
        (in_progress, c.LiftSupervisionOrder(actor=supervisor, order_id="o1"), 5, "order.unknown", "order_id"),
        (
            submitted,
            c.ReviewClosingReport(actor=coordinator, verdict=ReviewVerdict.PASS),
            48,
            "closure.not-cosigned",
            "verdict",
        ),
        (
            submitted,
            c.RateFollowUp(actor=requester, rating=RatingLevel.SATISFIED),
            50,
            "rating.before-review",
            "rating",
        ),
        (reviewed, c.WriteOff(actor=coordinator), 51, "writeoff.rating", None),
        (closed, c.ReopenCase(actor=requester, reason="again"), 52 + 24 * 31, "reopen.window-closed", None),
    ],
)
def test_rejected_commands_name_their_rule_and_change_nothing(
    setup: Case, command: c.CaseCommand, hours: float, rule: str, field: str | None
) -> None:
    state = setup()
    before = state.model_dump()
    with pytest.raises(Rejected) as rejected:
        machine.apply(state, command, at(hours))
    assert (rejected.value.rule, rejected.value.field) == (rule, field)
    assert f"rule {rule}" in str(rejected.value)
    assert state.model_dump() == before


def test_committing_needs_the_locality_cosign_before_acceptance() -> None:
    state = committing()
    do(state, c.FileCommitment(actor=lead, limit=wd(15), plan="p"), 2)
    with pytest.raises(Rejected) as rejected:
        do(state, c.DecideCommitment(actor=coordinator, decision=CommitmentDecision.ACCEPT), 3)
    assert rejected.value.rule == "commitment.not-cosigned"


def test_supervision_order_must_be_received_before_it_is_answered_by_its_addressee() -> None:
    state = in_progress()
    do(state, c.IssueSupervisionOrder(actor=supervisor, department=LEAD, content="x", reason="y"), 5)
    with pytest.raises(Rejected) as rejected:
        do(state, c.AnswerSupervisionOrder(actor=lead, order_id="o1", answer="done"), 6)
    assert rejected.value.rule == "order.not-received"
    with pytest.raises(Rejected) as rejected:
        do(state, c.ReceiveSupervisionOrder(actor=locality, order_id="o1"), 6)
    assert rejected.value.rule == "actor.department"
    with pytest.raises(Rejected) as rejected:
        do(state, c.LiftSupervisionOrder(actor=supervisor, order_id="o1"), 6)
    assert rejected.value.rule == "reason.required"


def test_an_orders_addressee_receives_and_answers_it_only_in_the_part_it_holds() -> None:
    state = in_progress()
    do(state, c.IssueSupervisionOrder(actor=supervisor, department=LEAD, content="x", reason="y"), 5)
    before = state.model_dump()
    for role in (Role.CO_UNIT, Role.LOCALITY):
        with pytest.raises(Rejected) as rejected:
            do(state, c.ReceiveSupervisionOrder(actor=c.Actor(department=LEAD, role=role), order_id="o1"), 6)
        assert (rejected.value.rule, rejected.value.field) == ("actor.role", "actor.role")
        assert f"no {role.value} assignment" in str(rejected.value)
    assert state.model_dump() == before
    do(state, c.ReceiveSupervisionOrder(actor=lead, order_id="o1"), 6)
    with pytest.raises(Rejected) as rejected:
        do(
            state,
            c.AnswerSupervisionOrder(actor=c.Actor(department=LEAD, role=Role.CO_UNIT), order_id="o1", answer="x"),
            7,
        )
    assert rejected.value.rule == "actor.role"
    do(state, c.AnswerSupervisionOrder(actor=lead, order_id="o1", answer="done"), 7)
    assert state.orders[0].status is SupervisionOrderStatus.ANSWERED


def test_summary_details_and_search_attributes_carry_codes_only() -> None:
    state = in_progress()
    state.registration.title = "王小明家的漏水"
    text = presentation.markdown(state) + summary_of(state.registration)
    assert "王小明" not in text
    assert summary_of(state.registration) == "case 2026-0001 from hotline · matter M-PERMIT · locality SQ-SUYU · normal"
    attributes = {pair.key.name: pair.value for pair in presentation.search_attributes(state)}
    assert attributes == {
        "CaseloopKind": "case",
        "CaseloopStage": "in_progress",
        "CaseloopCardColour": "none",
        "CaseloopLocality": LOCALITY,
        "CaseloopMatter": "M-PERMIT",
        "CaseloopPriority": "normal",
        "CaseloopSupervisionLevel": "none",
        "CaseloopLeadDepartment": LEAD,
        "CaseloopSlaColour": "green",
        "CaseloopNextDueAt": state.committed_due_at,
        "CaseloopParties": [SYSTEM_CODE, COORDINATOR, SUPERVISOR, LEAD, LOCALITY],
    }
    # A run that began before the parties or the SLA colour were published replays without them.
    unpatched = presentation.search_attributes(state, with_parties=False, with_sla_colour=False)
    assert {pair.key.name for pair in unpatched} == set(attributes) - {"CaseloopParties", "CaseloopSlaColour"}


def test_parties_keep_a_rerouted_department_and_add_an_order_co_department() -> None:
    state = launched()
    do(state, c.RerouteAssignment(actor=coordinator, department=LOCALITY, to_department=OTHER, reason="wrong place"))
    assert presentation.parties(state) == [SYSTEM_CODE, COORDINATOR, SUPERVISOR, LEAD, LOCALITY, OTHER]
    current = presentation.search_attributes(state)
    do(state, c.SignAssignment(actor=lead), 2)
    assert presentation.search_attribute_updates(state, current) == []
    order = c.IssueSupervisionOrder(
        actor=supervisor, department=LEAD, content="x", reason="y", co_departments=[CO_UNIT]
    )
    do(state, order, 3)
    assert presentation.parties(state)[-1] == CO_UNIT


def test_only_changed_search_attributes_are_upserted() -> None:
    state = in_progress()
    current = presentation.search_attributes(state)
    assert presentation.search_attribute_updates(state, current) == []
    do(state, c.SubmitClosingReport(actor=lead, result="done"), 48)
    updates = {update.key.name: update.value for update in presentation.search_attribute_updates(state, current)}
    assert updates == {"CaseloopStage": "closure_submitted", "CaseloopNextDueAt": state.clocks["review"].sla.due_at}
    do(state, c.TerminateCase(actor=coordinator, reason="merged"), 49)
    updates = {update.key.name: update.value for update in presentation.search_attribute_updates(state, current)}
    assert updates == {"CaseloopStage": "terminated", "CaseloopNextDueAt": None}


def test_a_launch_through_the_door_is_registered_under_its_credential() -> None:
    launcher = c.Actor(department=SYSTEM_CODE, role=Role.INITIATOR, credential="key:sys")
    state = new_case(launched_by=launcher)
    assert state.timeline[0].actor == launcher
    assert new_case().timeline[0].actor.department == "caseloop"
    with pytest.raises(ValueError, match="launched_by"):
        new_case(launched_by=c.Actor(department=OTHER, role=Role.INITIATOR))
