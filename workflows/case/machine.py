"""The case's state machine as pure functions: validate a command, apply it, fire a rung; deterministic, no I/O.

The workflow calls `validate` from its update validators (and again under its lock), `apply` from its update
handlers and `fire` from its SLA clocks, then carries out the returned `Effects`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.case import commands as c
    from schemas.case.stages import CaseStage, ClockStep
    from schemas.case.state import CaseClock, CaseState, DeadlineExplanation
    from schemas.clock import ClockSpec, DayKind, DayNote, Deadline, RungKind
    from schemas.delivery import Push
    from schemas.registry import CaseParties, MatterStep
    from workflows.case import channel_deadline as channel_deadlines
    from workflows.case import closure, ladder, launch, meetings, progress, rules, supervision, verification
    from workflows.case.effects import SYSTEM, ClockStart, Effects, Recorder, profile_of


@dataclass(frozen=True)
class CommandRule:
    check: Callable[[CaseState, Any, datetime], None]
    apply: Callable[[Recorder, Any], None]


RULES: dict[type[c.CaseCommand], CommandRule] = {
    c.AcceptCase: CommandRule(launch.check_accept, launch.apply_accept),
    c.RejectCase: CommandRule(launch.check_reject, launch.apply_reject),
    c.SignAssignment: CommandRule(launch.check_sign, launch.apply_sign),
    c.RequestReturn: CommandRule(launch.check_request_return, launch.apply_request_return),
    c.RerouteAssignment: CommandRule(launch.check_reroute, launch.apply_reroute),
    c.RuleOnReturn: CommandRule(launch.check_rule_on_return, launch.apply_rule_on_return),
    c.FileCommitment: CommandRule(progress.check_file_commitment, progress.apply_file_commitment),
    c.CosignCommitment: CommandRule(progress.check_cosign_commitment, progress.apply_cosign_commitment),
    c.DecideCommitment: CommandRule(progress.check_decide_commitment, progress.apply_decide_commitment),
    c.ReportProgress: CommandRule(progress.check_report_progress, progress.apply_report_progress),
    c.RequestExtension: CommandRule(progress.check_request_extension, progress.apply_request_extension),
    c.DecideExtension: CommandRule(progress.check_decide_extension, progress.apply_decide_extension),
    c.SuspendCase: CommandRule(progress.check_suspend, progress.apply_suspend),
    c.ResumeCase: CommandRule(progress.check_resume, progress.apply_resume),
    c.SubmitClosingReport: CommandRule(closure.check_submit, closure.apply_submit),
    c.CosignClosingReport: CommandRule(closure.check_cosign, closure.apply_cosign),
    c.ReviewClosingReport: CommandRule(closure.check_review, closure.apply_review),
    c.RateFollowUp: CommandRule(closure.check_rate, closure.apply_rate),
    c.WriteOff: CommandRule(closure.check_write_off, closure.apply_write_off),
    c.ReopenCase: CommandRule(closure.check_reopen, closure.apply_reopen),
    c.TerminateCase: CommandRule(closure.check_terminate, closure.apply_terminate),
    c.IssueSupervisionOrder: CommandRule(supervision.check_issue, supervision.apply_issue),
    c.ReceiveSupervisionOrder: CommandRule(supervision.check_receive, supervision.apply_receive),
    c.AnswerSupervisionOrder: CommandRule(supervision.check_answer, supervision.apply_answer),
    c.LiftSupervisionOrder: CommandRule(supervision.check_lift, supervision.apply_lift),
    c.CommentOnCase: CommandRule(supervision.check_comment, supervision.apply_comment),
    c.RevokeCard: CommandRule(supervision.check_revoke_card, supervision.apply_revoke_card),
    c.RequestJointMeeting: CommandRule(meetings.check_request, meetings.apply_request),
    c.RecordMeetingOutcome: CommandRule(meetings.check_outcome, meetings.apply_outcome),
    c.VerifyFact: CommandRule(verification.check_verify, verification.apply_verify),
    c.AttachVerification: CommandRule(verification.check_verify, verification.apply_attach),
}


def validate(state: CaseState, command: c.CaseCommand, now: datetime) -> None:
    """Raises `Rejected` when the command breaks a rule; changes nothing."""
    rules.require_not_system(command.actor)
    RULES[type(command)].check(state, command, now)


def apply(state: CaseState, command: c.CaseCommand, now: datetime) -> Effects:
    """Validates and applies a command; the state changes only if it is valid."""
    validate(state, command, now)
    rec = Recorder(state, now)
    RULES[type(command)].apply(rec, command)
    return rec.effects


def register(state: CaseState, parties: CaseParties, *, timed_from: datetime | None = None) -> Effects:
    """The case is registered: the coordinator's accept clock starts at receipt; with `timed_from` (the instant of
    registration, where the workflow's patch applies) a channel's own deadline starts its clock too."""
    state.parties = parties
    rec = Recorder(state, state.registered_at)
    launcher = state.registration.launched_by or SYSTEM
    rec.record(launcher, "registered", to_stage=CaseStage.REGISTERED, note=f"matter {parties.matter.code}")
    rec.start_clock(
        ClockStep.ACCEPT.value,
        ClockStep.ACCEPT,
        state.registration.coordinator,
        rules.limit_of(state, MatterStep.ACCEPT),
        started_at=state.registered_at,
    )
    if timed_from is not None:
        channel_deadlines.start(rec, timed_from)
    return rec.effects


def refuse_registration(state: CaseState, why: str, now: datetime) -> Effects:
    """The registry cannot place the case (unknown matter or locality): it is rejected, and says why."""
    rec = Recorder(state, now)
    rec.record(state.registration.launched_by or SYSTEM, "registered", to_stage=CaseStage.REGISTERED)
    rec.record(SYSTEM, "rejected", to_stage=CaseStage.REJECTED, reason=why)
    state.ended_at = now
    return rec.effects


def fire(state: CaseState, key: str, kind: RungKind, now: datetime, *, full_ladder: bool = False) -> Effects:
    """A rung of clock `key` came due; `full_ladder` as `ladder.on_rung` takes it."""
    rec = Recorder(state, now)
    clock = state.clocks.get(key)
    if clock is not None:
        ladder.on_rung(rec, clock, kind, full_ladder=full_ladder)
    return rec.effects


def set_window(state: CaseState, target: str, closes_at: datetime) -> None:
    """Records a computed window: `return:<assignment>` or `reopen`."""
    if target == "reopen":
        state.reopen_closes_at = closes_at
        return
    assignment_id = target.removeprefix("return:")
    for assignment in state.assignments:
        if assignment.assignment_id == assignment_id:
            assignment.return_closes_at = closes_at


def set_due(state: CaseState, key: str, due_at: datetime) -> None:
    """Copies a computed deadline where the rules read it: the committed deadline, a supervision order's."""
    clock = state.clocks[key]
    if clock.step is ClockStep.DEADLINE:
        state.committed_due_at = due_at
    elif clock.step is ClockStep.SUPERVISION_ORDER:
        for order in state.orders:
            if order.order_id == clock.subject:
                order.due_at = due_at
    elif clock.step is ClockStep.JOINT_MEETING:
        for meeting in state.meetings:
            if meeting.meeting_id == clock.subject:
                meeting.due_at = due_at


def explain(state: CaseState, key: str, deadline: Deadline) -> None:
    """Keeps why the clock's deadline falls when it does: the legal clock's day notes, summed up and capped."""
    clock = state.clocks[key]
    skipped: dict[DayKind, int] = {}
    listed: list[DayNote] = []
    makeup = 0
    for note in deadline.notes:
        if note.counted:
            makeup += note.kind is DayKind.MAKEUP_WORKDAY
        else:
            skipped[note.kind] = skipped.get(note.kind, 0) + 1
        if note.kind in (DayKind.HOLIDAY, DayKind.MAKEUP_WORKDAY, DayKind.PAUSED):
            listed.append(note)
    most = state.registration.policy.explained_days
    clock.explanation = DeadlineExplanation(
        due_at=deadline.due_at,
        estimated=deadline.estimated,
        estimated_years=deadline.estimated_years,
        skipped=skipped,
        makeup_workdays=makeup,
        days=listed[:most],
        more_days=max(len(listed) - most, 0),
    )


def track(state: CaseState, start: ClockStart, spec: ClockSpec, estimated: bool) -> CaseClock:
    """The clock of a started step, as computed; an existing key keeps its SLA history (the deadline moved)."""
    clock = state.clocks.get(start.key)
    if clock is None:
        clock = CaseClock(
            key=start.key,
            step=start.step,
            department=start.department,
            subject=start.subject,
            spec=spec,
            profile=profile_of(state),
        )
        state.clocks[start.key] = clock
    clock.department = start.department
    clock.spec = spec
    clock.estimated = estimated
    return clock


def untrack(state: CaseState, key: str) -> None:
    state.clocks.pop(key, None)


def delivery_handed_over(state: CaseState, push: Push, attempts: int, why: str, now: datetime) -> Effects:
    """A department's system stayed unreachable through the policy's attempts: the push waits in its inbox, and
    the audit trail tells the coordinator, as a hand-off's failing delivery does."""
    rec = Recorder(state, now)
    rec.effects.inboxed.append(push)
    rec.record(
        SYSTEM,
        "delivery_handed_over",
        reason=f"{attempts} attempts failed: {why}",
        note=f"{push.kind.value} {push.push_id} waits in the inbox of {push.department_code}; "
        f"coordinator {state.registration.coordinator} to follow up",
    )
    return rec.effects


def delivery_failed(state: CaseState, push: Push, why: str, now: datetime) -> Effects:
    """A department's system refused a push for good: the audit trail says so, for an operator to act on."""
    rec = Recorder(state, now)
    rec.record(
        SYSTEM, "delivery_failed", reason=why, note=f"{push.kind.value} {push.push_id} to {push.department_code}"
    )
    return rec.effects
