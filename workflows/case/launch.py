"""Registration to commitment: accept or reject, the dual launch, signing, returns and reroutes."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.case.commands import (
        AcceptCase,
        RejectCase,
        RequestReturn,
        RerouteAssignment,
        RuleOnReturn,
        SignAssignment,
    )
    from schemas.case.stages import AssignmentStatus, CaseStage, ClockStep, PartyKind, Priority, ReturnRuling, Role
    from schemas.case.state import Assignment, CaseState
    from schemas.delivery import PushKind
    from schemas.ledger import CardLevel, CardReason
    from schemas.registry import MatterStep
    from workflows.case import rules, supervision
    from workflows.case.effects import SYSTEM, Recorder
    from workflows.case.rules import Rejected


def check_accept(state: CaseState, command: AcceptCase, now: datetime) -> None:
    rules.require_coordinator(state, command.actor, "accept")
    rules.require_stage(state, "accept", (CaseStage.REGISTERED,))


def apply_accept(rec: Recorder, command: AcceptCase) -> None:
    rec.record(command.actor, "accepted", to_stage=CaseStage.ACCEPTED, reason=command.reason)
    rec.end_clock(ClockStep.ACCEPT.value)
    launch(rec)


def check_reject(state: CaseState, command: RejectCase, now: datetime) -> None:
    rules.require_coordinator(state, command.actor, "reject")
    rules.require_stage(state, "reject", (CaseStage.REGISTERED,))
    rules.require_reason(command, "reject", "the requester is told why the case is out of scope")


def apply_reject(rec: Recorder, command: RejectCase) -> None:
    rec.record(command.actor, "rejected", to_stage=CaseStage.REJECTED, reason=command.reason)
    end(rec)


def end(rec: Recorder) -> None:
    """The case is over (rejected, terminated, written off): every clock stops."""
    for key in list(rec.state.clocks):
        rec.end_clock(key)
    rec.effects.clock_starts.clear()


def launch(rec: Recorder) -> None:
    """Dual launch: one assignment per party at once, each with its own sign clock (DESIGN.md §2)."""
    state = rec.state
    assert state.parties is not None, "parties are resolved when the case starts"
    nominated = {unit.department: unit.mandatory for unit in state.registration.co_units}
    co_units = {department.code: True for department in state.parties.co_units} | nominated
    parties = [(state.parties.lead.code, PartyKind.LEAD, True), (state.parties.locality.code, PartyKind.LOCALITY, True)]
    taken = {code for code, _, _ in parties}
    parties += [(code, PartyKind.CO_UNIT, mandatory) for code, mandatory in co_units.items() if code not in taken]
    for department, party, mandatory in parties:
        dispatch(rec, department, party, mandatory)
    note = ", ".join(f"{party.value} {department}" for department, party, _ in parties)
    rec.record(SYSTEM, "launched", to_stage=CaseStage.LAUNCHED, note=note)
    registration = state.registration
    if registration.priority is not Priority.NORMAL or registration.leader_instruction:
        basis = "a leader's instruction" if registration.leader_instruction else f"{registration.priority.value} case"
        supervision.issue(
            rec,
            state.parties.lead.code,
            basis=f"supervised from launch: {basis}",
            content="Report progress on this case weekly until the supervision order is lifted.",
            limit=registration.policy.supervision_order_limit,
            issued_by=None,
        )


def dispatch(rec: Recorder, department: str, party: PartyKind, mandatory: bool) -> Assignment:
    state = rec.state
    assignment = Assignment(
        assignment_id=f"a{len(state.assignments) + 1}",
        department=department,
        party=party,
        mandatory=mandatory,
        dispatched_at=rec.now,
    )
    state.assignments.append(assignment)
    urgent = state.registration.priority is Priority.URGENT
    limit = rules.limit_of(state, MatterStep.SIGN_URGENT if urgent else MatterStep.SIGN)
    rec.start_clock(sign_key(assignment), ClockStep.SIGN, department, limit, subject=assignment.assignment_id)
    rec.window(f"return:{assignment.assignment_id}", rules.limit_of(state, MatterStep.RETURN), rec.now)
    rec.push(department, PushKind.CASE_ASSIGNMENT, {"party": party.value, "assignment_id": assignment.assignment_id})
    rec.sms(department, "case_assignment", {"party": party.value})
    return assignment


def sign_key(assignment: Assignment) -> str:
    return f"{ClockStep.SIGN.value}:{assignment.assignment_id}"


def ruling_key(assignment: Assignment) -> str:
    return f"{ClockStep.RETURN_RULING.value}:{assignment.assignment_id}"


PARTIES = (PartyKind.LEAD, PartyKind.LOCALITY, PartyKind.CO_UNIT)


def check_sign(state: CaseState, command: SignAssignment, now: datetime) -> None:
    rules.require_stage(state, "sign", rules.LAUNCHED_AND_OPEN)
    if command.actor.role is Role.COORDINATOR:
        rules.require_coordinator(state, command.actor, "sign")
        if command.department is None:
            raise Rejected("sign.department", "department", "the coordinator names the assignment to force-sign")
        assignment = rules.assignment_of(state, command.department, "department")
        rules.require_assignment_status(assignment, "sign", (AssignmentStatus.PENDING_SIGN,))
        if not assignment.sign_escalated:
            raise Rejected(
                "sign.force-before-escalation",
                "department",
                f"the coordinator may force-sign for {assignment.department} only once its overdue signature "
                "has been escalated",
            )
        return
    assignment = rules.party_assignment(state, command.actor, "sign", PARTIES)
    if command.department is not None and command.department != assignment.department:
        raise Rejected("sign.department", "department", "a party signs its own assignment only")
    rules.require_assignment_status(assignment, "sign", (AssignmentStatus.PENDING_SIGN,))


def apply_sign(rec: Recorder, command: SignAssignment) -> None:
    state = rec.state
    forced = command.actor.role is Role.COORDINATOR
    department = command.department if forced else command.actor.department
    assert department is not None
    assignment = rules.assignment_of(state, department, "department")
    sign(rec, assignment, forced=forced)
    action = "force_signed" if forced else "signed"
    rec.record(command.actor, action, reason=command.reason, note=f"{assignment.party.value} {department}")
    all_signed(rec)


def sign(rec: Recorder, assignment: Assignment, *, forced: bool) -> None:
    assignment.status = AssignmentStatus.SIGNED
    assignment.signed_at = rec.now
    assignment.force_signed = forced
    rec.end_clock(sign_key(assignment))


def all_signed(rec: Recorder) -> None:
    """The AND-join of the dual launch: every mandatory assignment signed moves the case to commitment."""
    state = rec.state
    if state.stage is not CaseStage.LAUNCHED:
        return
    mandatory = [a for a in state.assignments if a.active and a.mandatory]
    if all(a.status is AssignmentStatus.SIGNED for a in mandatory):
        rec.record(SYSTEM, "all_signed", to_stage=CaseStage.AWAITING_COMMITMENT)
        lead = rules.lead_of(state)
        rec.start_clock(
            ClockStep.COMMIT.value, ClockStep.COMMIT, lead.department, rules.limit_of(state, MatterStep.COMMIT)
        )


def check_request_return(state: CaseState, command: RequestReturn, now: datetime) -> None:
    rules.require_stage(state, "return", (CaseStage.LAUNCHED, CaseStage.AWAITING_COMMITMENT))
    assignment = rules.party_assignment(state, command.actor, "return", PARTIES)
    rules.require_assignment_status(assignment, "return", (AssignmentStatus.PENDING_SIGN,))
    rules.require_reason(command, "return", "say why the assignment is not this department's duty")
    if command.legal_basis is None or not command.legal_basis.strip():
        raise Rejected("return.legal-basis", "legal_basis", "a return names the legal basis of the department's duties")
    if assignment.return_closes_at is not None and now > assignment.return_closes_at:
        raise Rejected(
            "return.window-closed",
            "actor",
            f"the return window closed at {assignment.return_closes_at.isoformat()}: the assignment must be handled",
        )


def apply_request_return(rec: Recorder, command: RequestReturn) -> None:
    state = rec.state
    assignment = rules.assignment_of(state, command.actor.department, "actor.department")
    assignment.status = AssignmentStatus.RETURN_REQUESTED
    assignment.return_reason = command.reason
    assignment.return_basis = command.legal_basis
    rec.end_clock(sign_key(assignment))
    rec.start_clock(
        ruling_key(assignment),
        ClockStep.RETURN_RULING,
        state.registration.coordinator,
        rules.limit_of(state, MatterStep.REROUTE),
        subject=assignment.assignment_id,
    )
    rec.record(
        command.actor,
        "return_requested",
        reason=command.reason,
        note=f"{assignment.party.value} {assignment.department}; legal basis: {command.legal_basis}",
    )


def check_reroute(state: CaseState, command: RerouteAssignment, now: datetime) -> None:
    rules.require_coordinator(state, command.actor, "reroute")
    rules.require_stage(state, "reroute", (CaseStage.LAUNCHED, CaseStage.AWAITING_COMMITMENT))
    assignment = rules.assignment_of(state, command.department, "department")
    rules.require_assignment_status(
        assignment, "reroute", (AssignmentStatus.PENDING_SIGN, AssignmentStatus.RETURN_REQUESTED)
    )
    rules.require_reason(command, "reroute", "the new department is told why it receives the case")
    _check_new_department(state, command.to_department)


def _check_new_department(state: CaseState, department: str | None) -> None:
    if department is None:
        raise Rejected("reroute.to-department", "to_department", "a reroute names the department that takes over")
    if any(a.active and a.department == department for a in state.assignments):
        raise Rejected("reroute.duplicate", "to_department", f"{department} already holds an assignment on this case")


def apply_reroute(rec: Recorder, command: RerouteAssignment) -> None:
    assignment = rules.assignment_of(rec.state, command.department, "department")
    reroute(rec, assignment, command.to_department)
    rec.record(command.actor, "rerouted", reason=command.reason, note=f"{command.department} → {command.to_department}")


def reroute(rec: Recorder, assignment: Assignment, to_department: str) -> None:
    assignment.status = AssignmentStatus.REROUTED
    rec.end_clock(sign_key(assignment))
    rec.end_clock(ruling_key(assignment))
    successor = dispatch(rec, to_department, assignment.party, assignment.mandatory)
    assignment.rerouted_to = successor.assignment_id


def check_rule_on_return(state: CaseState, command: RuleOnReturn, now: datetime) -> None:
    rules.require_coordinator(state, command.actor, "rule on a return")
    rules.require_stage(state, "rule on a return", (CaseStage.LAUNCHED, CaseStage.AWAITING_COMMITMENT))
    assignment = rules.assignment_of(state, command.department, "department")
    rules.require_assignment_status(assignment, "rule on a return", (AssignmentStatus.RETURN_REQUESTED,))
    rules.require_reason(command, "a ruling on a return", "both departments are told why")
    if command.ruling is ReturnRuling.REROUTE:
        _check_new_department(state, command.to_department)


def apply_rule_on_return(rec: Recorder, command: RuleOnReturn) -> None:
    assignment = rules.assignment_of(rec.state, command.department, "department")
    if command.ruling is ReturnRuling.REROUTE:
        assert command.to_department is not None
        reroute(rec, assignment, command.to_department)
        rec.record(
            command.actor,
            "return_granted",
            reason=command.reason,
            note=f"{command.department} → {command.to_department}",
        )
        return
    # An upheld return was improper: recorded as buck-passing, and the assignment stands signed (終審/裁定).
    assignment.status = AssignmentStatus.RETURN_REJECTED
    rec.end_clock(ruling_key(assignment))
    rec.record(
        command.actor, "return_rejected", reason=command.reason, note=f"{assignment.party.value} {command.department}"
    )
    supervision.card(rec, command.department, CardLevel.YELLOW, CardReason.IMPROPER_RETURN, None)
    sign(rec, assignment, forced=True)
    rec.record(SYSTEM, "force_signed", note=f"{assignment.party.value} {command.department}, by the ruling")
    all_signed(rec)
