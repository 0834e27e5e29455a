"""Closing a case: the closing report, its review, the follow-up rating, write-off, reopening and termination."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.case.commands import (
        Actor,
        CosignClosingReport,
        RateFollowUp,
        ReopenCase,
        ReviewClosingReport,
        SubmitClosingReport,
        TerminateCase,
        WriteOff,
    )
    from schemas.case.stages import CaseStage, ClockStep, PartyKind, ReviewVerdict
    from schemas.case.state import CaseState, ClosingReport
    from schemas.delivery import PushKind
    from schemas.ledger import RatingInput, ScoreKind
    from schemas.registry import Limit, MatterStep
    from workflows.case import launch, progress, rules, supervision
    from workflows.case.effects import SYSTEM, Recorder
    from workflows.case.rules import Rejected

REVIEW = ClockStep.REVIEW.value
FOLLOW_UP = ClockStep.FOLLOW_UP.value


def check_submit(state: CaseState, command: SubmitClosingReport, now: datetime) -> None:
    rules.require_stage(state, "submit the closing report", (CaseStage.IN_PROGRESS,))
    rules.party_assignment(state, command.actor, "submit the closing report", (PartyKind.LEAD,))


def apply_submit(rec: Recorder, command: SubmitClosingReport) -> None:
    state = rec.state
    on_time = state.committed_due_at is None or rec.now <= state.committed_due_at
    state.closing = ClosingReport(
        result=command.result,
        evidence=command.evidence,
        requester_confirmed=command.requester_confirmed,
        submitted_at=rec.now,
        on_time=on_time,
    )
    rec.end_clock(progress.DEADLINE)
    rec.end_clock(progress.PROGRESS)
    rec.start_clock(REVIEW, ClockStep.REVIEW, state.registration.coordinator, rules.limit_of(state, MatterStep.REVIEW))
    rec.record(
        command.actor,
        "closing_report_submitted",
        to_stage=CaseStage.CLOSURE_SUBMITTED,
        reason=command.reason,
        note="on time" if on_time else "after the committed deadline",
    )
    rec.push(state.registration.coordinator, PushKind.CLOSURE_REVIEW, {"on_time": on_time})


def check_cosign(state: CaseState, command: CosignClosingReport, now: datetime) -> None:
    rules.require_stage(state, "co-sign the closing report", (CaseStage.CLOSURE_SUBMITTED,))
    rules.party_assignment(state, command.actor, "co-sign the closing report", (PartyKind.LOCALITY,))
    assert state.closing is not None
    if state.closing.cosigned_at is not None:
        raise Rejected("closure.cosigned", None, "the closing report is already co-signed")


def apply_cosign(rec: Recorder, command: CosignClosingReport) -> None:
    assert rec.state.closing is not None
    rec.state.closing.cosigned_at = rec.now
    rec.record(command.actor, "closing_report_cosigned", reason=command.reason)


def check_review(state: CaseState, command: ReviewClosingReport, now: datetime) -> None:
    rules.require_coordinator(state, command.actor, "review")
    rules.require_stage(state, "review", (CaseStage.CLOSURE_SUBMITTED,))
    assert state.closing is not None
    if state.closing.review_passed_at is not None:
        raise Rejected("review.done", "verdict", "the closing report has already passed review")
    if command.verdict is ReviewVerdict.PASS:
        if state.closing.cosigned_at is None:
            raise Rejected("closure.not-cosigned", "verdict", "the locality has not co-signed the closing report")
        return
    rules.require_reason(command, "a redo", "the lead is told what to do again")
    if command.redo_limit is not None:
        rules.check_limit(state, command.redo_limit, "redo_limit")


def apply_review(rec: Recorder, command: ReviewClosingReport) -> None:
    state = rec.state
    assert state.closing is not None
    rec.end_clock(REVIEW)
    if command.verdict is ReviewVerdict.PASS:
        state.closing.review_passed_at = rec.now
        rec.record(command.actor, "review_passed", reason=command.reason)
        rec.start_clock(
            FOLLOW_UP, ClockStep.FOLLOW_UP, state.registration.coordinator, rules.limit_of(state, MatterStep.FOLLOW_UP)
        )
        return
    assert command.reason is not None
    redo(rec, command.actor, command.reason, command.redo_limit)


def redo(rec: Recorder, actor: Actor, reason: str, limit: Limit | None) -> None:
    """退回重辦: back to work with a new deadline from now; counted against the lead in the assessment."""
    state = rec.state
    state.redo_count += 1
    state.closing = None
    rec.end_clock(REVIEW)
    rec.end_clock(FOLLOW_UP)
    lead = rules.lead_of(state)
    limit = limit or state.registration.policy.redo_limit
    rec.record(
        actor,
        "redo_ordered",
        to_stage=CaseStage.IN_PROGRESS,
        reason=reason,
        note=f"redo {state.redo_count}, limit {limit}",
    )
    rec.score(lead.department, ScoreKind.REDO, f"redo {state.redo_count}")
    progress.start_deadline(rec, limit, started_at=rec.now)
    progress.start_progress(rec)


def check_rate(state: CaseState, command: RateFollowUp, now: datetime) -> None:
    rules.require_requester_or_coordinator(state, command.actor, "rate the follow-up")
    rules.require_stage(state, "rate the follow-up", (CaseStage.CLOSURE_SUBMITTED,))
    assert state.closing is not None
    if state.closing.review_passed_at is None:
        raise Rejected("rating.before-review", "rating", "the follow-up comes after the review has passed")
    if state.closing.rating is not None:
        raise Rejected("rating.done", "rating", "the follow-up has already been rated")


def apply_rate(rec: Recorder, command: RateFollowUp) -> None:
    state = rec.state
    assert state.closing is not None
    lead = rules.lead_of(state)
    rec.end_clock(FOLLOW_UP)
    state.closing.rating = command.rating
    state.closing.rated_at = rec.now
    rec.effects.ratings.append(
        RatingInput(
            rating_id=f"{state.case_id}.r{state.redo_count + state.reopen_count + 1}",
            case_id=state.case_id,
            department_code=lead.department,
            level=command.rating,
            channel=command.channel,
            comment=command.comment,
            rated_at=rec.now,
        )
    )
    rec.record(command.actor, "rated", reason=command.reason, note=command.rating.value)
    if command.rating.is_bad:
        redo(rec, SYSTEM, f"bad follow-up rating ({command.rating.value})", None)


def check_write_off(state: CaseState, command: WriteOff, now: datetime) -> None:
    rules.require_coordinator(state, command.actor, "write off")
    rules.require_stage(state, "write off", (CaseStage.CLOSURE_SUBMITTED,))
    assert state.closing is not None
    if state.closing.review_passed_at is None:
        raise Rejected("writeoff.review", None, "a case is written off only after its closing report passed review")
    if state.closing.rating is None:
        raise Rejected("writeoff.rating", None, "a case is written off only after the follow-up rating")


def apply_write_off(rec: Recorder, command: WriteOff) -> None:
    state = rec.state
    assert state.closing is not None
    lead = rules.lead_of(state)
    state.closed_at = rec.now
    rec.record(command.actor, "written_off", to_stage=CaseStage.CLOSED, reason=command.reason)
    if state.closing.on_time:
        rec.score(lead.department, ScoreKind.ON_TIME_CLOSE, "closed by the committed deadline")
    supervision.lift_all(rec, "the case is written off")
    launch.end(rec)
    rec.window("reopen", rules.limit_of(state, MatterStep.REOPEN_WINDOW), rec.now)


def check_reopen(state: CaseState, command: ReopenCase, now: datetime) -> None:
    rules.require_requester_or_coordinator(state, command.actor, "reopen")
    rules.require_stage(state, "reopen", (CaseStage.CLOSED,))
    rules.require_reason(command, "reopening", "the same problem has recurred")
    if state.reopen_closes_at is not None and now > state.reopen_closes_at:
        raise Rejected(
            "reopen.window-closed", None, f"the reopen window closed at {state.reopen_closes_at.isoformat()}"
        )
    if command.limit is not None:
        rules.check_limit(state, command.limit, "limit")


def apply_reopen(rec: Recorder, command: ReopenCase) -> None:
    """Reopening re-baselines: the deadline counts again from now, for the given or the committed limit."""
    state = rec.state
    assert state.commitment is not None
    state.reopen_count += 1
    state.closing = None
    state.closed_at = None
    state.reopen_closes_at = None
    rec.record(command.actor, "reopened", to_stage=CaseStage.REOPENED, reason=command.reason)
    limit = command.limit or state.commitment.limit
    rec.record(SYSTEM, "rebaselined", to_stage=CaseStage.IN_PROGRESS, note=f"limit {limit} from now")
    progress.start_deadline(rec, limit, started_at=rec.now)
    progress.start_progress(rec)


def check_terminate(state: CaseState, command: TerminateCase, now: datetime) -> None:
    rules.require_coordinator(state, command.actor, "terminate")
    if not state.stage.is_open:
        raise Rejected("stage", "stage", f"terminate is for open cases, not a {state.stage.value} one")
    rules.require_reason(command, "terminating", "say why the case ends (withdrawn, merged into another)")


def apply_terminate(rec: Recorder, command: TerminateCase) -> None:
    state = rec.state
    state.ended_at = rec.now
    rec.record(command.actor, "terminated", to_stage=CaseStage.TERMINATED, reason=command.reason)
    supervision.lift_all(rec, "the case is terminated")
    launch.end(rec)
