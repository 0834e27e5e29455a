"""From commitment to the closing report: commit, co-sign, accept or impose, report, extend, suspend, resume."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.case.commands import (
        CosignCommitment,
        DecideCommitment,
        DecideExtension,
        FileCommitment,
        ReportProgress,
        RequestExtension,
        ResumeCase,
        SuspendCase,
    )
    from schemas.case.stages import CaseStage, ClockStep, CommitmentDecision, PartyKind
    from schemas.case.state import CaseState, Commitment, ExtensionRequest
    from schemas.clock import Pause
    from schemas.registry import Limit, MatterStep
    from workflows.case import rules
    from workflows.case.effects import Recorder
    from workflows.case.rules import Rejected

DEADLINE = ClockStep.DEADLINE.value
PROGRESS = ClockStep.PROGRESS_REPORT.value
EXTENSION_DECISION = ClockStep.EXTENSION_DECISION.value


def check_file_commitment(state: CaseState, command: FileCommitment, now: datetime) -> None:
    rules.require_stage(state, "commit", (CaseStage.AWAITING_COMMITMENT,))
    rules.party_assignment(state, command.actor, "commit", (PartyKind.LEAD,))
    rules.statutory_check(state, command.limit, "limit")


def apply_file_commitment(rec: Recorder, command: FileCommitment) -> None:
    rec.state.commitment = Commitment(
        limit=command.limit, plan=command.plan, filed_at=rec.now, filed_by=command.actor.department
    )
    rec.record(command.actor, "commitment_filed", reason=command.reason, note=f"limit {command.limit} from receipt")


def check_cosign_commitment(state: CaseState, command: CosignCommitment, now: datetime) -> None:
    rules.require_stage(state, "co-sign the commitment", (CaseStage.AWAITING_COMMITMENT,))
    rules.party_assignment(state, command.actor, "co-sign the commitment", (PartyKind.LOCALITY,))
    if state.commitment is None:
        raise Rejected("commitment.missing", None, "the lead has not filed a commitment yet")
    if state.commitment.cosigned_at is not None:
        raise Rejected("commitment.cosigned", None, "the commitment is already co-signed")


def apply_cosign_commitment(rec: Recorder, command: CosignCommitment) -> None:
    assert rec.state.commitment is not None
    rec.state.commitment.cosigned_at = rec.now
    rec.record(command.actor, "commitment_cosigned", reason=command.reason)


def check_decide_commitment(state: CaseState, command: DecideCommitment, now: datetime) -> None:
    rules.require_coordinator(state, command.actor, "decide the commitment")
    rules.require_stage(state, "decide the commitment", (CaseStage.AWAITING_COMMITMENT,))
    if command.decision is CommitmentDecision.ACCEPT:
        if state.commitment is None:
            raise Rejected("commitment.missing", None, "the lead has not filed a commitment to accept")
        if state.commitment.cosigned_at is None:
            raise Rejected("commitment.not-cosigned", None, "the locality has not co-signed the commitment yet")
        return
    rules.require_reason(command, "imposing a deadline", "the lead is told why its own commitment was not taken")
    if command.limit is None:
        raise Rejected("commitment.limit-required", "limit", "an imposed commitment names its limit")
    rules.statutory_check(state, command.limit, "limit")


def apply_decide_commitment(rec: Recorder, command: DecideCommitment) -> None:
    state = rec.state
    if command.decision is CommitmentDecision.IMPOSE:
        assert command.limit is not None
        state.commitment = Commitment(
            limit=command.limit,
            plan=command.plan or (state.commitment.plan if state.commitment else None),
            filed_at=rec.now,
            filed_by=command.actor.department,
            imposed=True,
        )
    assert state.commitment is not None
    state.commitment.accepted_at = rec.now
    action = "commitment_imposed" if state.commitment.imposed else "commitment_accepted"
    rec.record(
        command.actor,
        action,
        to_stage=CaseStage.IN_PROGRESS,
        reason=command.reason,
        note=f"limit {state.commitment.limit} from receipt",
    )
    rec.end_clock(ClockStep.COMMIT.value)
    start_deadline(rec, state.commitment.limit, started_at=state.registered_at)
    start_progress(rec)


def start_deadline(rec: Recorder, limit: Limit, *, started_at: datetime) -> None:
    lead = rules.lead_of(rec.state)
    rec.start_clock(DEADLINE, ClockStep.DEADLINE, lead.department, limit, started_at=started_at)


def start_progress(rec: Recorder) -> None:
    lead = rules.lead_of(rec.state)
    rec.start_clock(PROGRESS, ClockStep.PROGRESS_REPORT, lead.department, rules.progress_limit(rec.state))


def check_report_progress(state: CaseState, command: ReportProgress, now: datetime) -> None:
    rules.require_stage(
        state, "report progress", (CaseStage.IN_PROGRESS, CaseStage.EXTENSION_PENDING, CaseStage.SUSPENDED)
    )
    rules.party_assignment(state, command.actor, "report progress", (PartyKind.LEAD,))


def apply_report_progress(rec: Recorder, command: ReportProgress) -> None:
    state = rec.state
    state.report_overdue = False
    note = None if command.percent_done is None else f"{command.percent_done} % done"
    rec.record(command.actor, "progress_reported", reason=command.reason, note=note)
    if state.stage is not CaseStage.SUSPENDED:  # while suspended no report is due; resuming starts a new period
        start_progress(rec)


def extension_cap(state: CaseState) -> Limit:
    matter = state.matter
    if matter is not None and matter.extension_cap is not None:
        return matter.extension_cap
    return state.registration.policy.extension_cap


def max_extensions(state: CaseState) -> int:
    matter = state.matter
    return matter.max_extensions if matter is not None else state.registration.policy.max_extensions


def check_request_extension(state: CaseState, command: RequestExtension, now: datetime) -> None:
    rules.require_stage(state, "request an extension", (CaseStage.IN_PROGRESS,))
    rules.party_assignment(state, command.actor, "request an extension", (PartyKind.LEAD,))
    rules.require_reason(command, "an extension request", "the coordinator decides on it")
    if state.commitment is None:
        raise Rejected("commitment.missing", None, "the case has no accepted commitment")
    # Unknown only while the accepting command is still computing it; its handler checks again under the lock.
    if state.committed_due_at is not None and now >= state.committed_due_at:
        raise Rejected(
            "extension.after-expiry",
            "amount",
            f"an extension is requested before the deadline ({state.committed_due_at.isoformat()}); "
            "a request after it counts as overdue",
        )
    approved = sum(1 for extension in state.extensions if extension.approved)
    if approved >= max_extensions(state):
        raise Rejected("extension.count", "amount", f"at most {max_extensions(state)} extension(s) per case")
    unit = state.commitment.limit.unit
    if unit.counts_days and not float(command.amount).is_integer():
        raise Rejected("limit.whole-days", "amount", f"an extension in {unit.value} is a whole number")
    cap = extension_cap(state)
    if cap.unit is not unit:
        raise Rejected(
            "extension.unit", "amount", f"the extension cap is in {cap.unit.value}, the deadline in {unit.value}"
        )
    if command.amount > float(cap.amount):
        raise Rejected("extension.cap", "amount", f"{command.amount:g} {unit.value} exceeds the cap of {cap}")
    granted = sum(extension.granted or 0 for extension in state.extensions if extension.approved)
    total = float(state.commitment.limit.amount) + granted + command.amount
    rules.check_length(state, total, unit, "amount", f"the deadline with its extensions ({total:g} {unit.value})")
    most = state.registration.policy.max_extension_requests
    if len(state.extensions) >= most:
        raise Rejected("extension.requests-max", "amount", f"at most {most} extension requests per case")


def apply_request_extension(rec: Recorder, command: RequestExtension) -> None:
    state = rec.state
    assert command.reason is not None and state.commitment is not None
    state.extensions.append(ExtensionRequest(amount=command.amount, reason=command.reason, requested_at=rec.now))
    rec.record(
        command.actor,
        "extension_requested",
        to_stage=CaseStage.EXTENSION_PENDING,
        reason=command.reason,
        note=f"{command.amount:g} {state.commitment.limit.unit.value}",
    )
    rec.start_clock(
        EXTENSION_DECISION,
        ClockStep.EXTENSION_DECISION,
        state.registration.coordinator,
        rules.limit_of(state, MatterStep.EXTENSION_DECISION),
    )


def check_decide_extension(state: CaseState, command: DecideExtension, now: datetime) -> None:
    rules.require_coordinator(state, command.actor, "decide an extension")
    rules.require_stage(state, "decide an extension", (CaseStage.EXTENSION_PENDING,))
    if not command.approve:
        rules.require_reason(command, "denying an extension", "the lead is told why")
        return
    requested = state.extensions[-1].amount
    if command.amount is not None:
        if command.amount > requested:
            raise Rejected("extension.amount", "amount", f"at most the {requested:g} requested may be granted")
        assert state.commitment is not None
        if state.commitment.limit.unit.counts_days and not float(command.amount).is_integer():
            raise Rejected("limit.whole-days", "amount", "an extension in days is a whole number")


def apply_decide_extension(rec: Recorder, command: DecideExtension) -> None:
    state = rec.state
    request = state.extensions[-1]
    request.decided_at = rec.now
    request.approved = command.approve
    request.decision_reason = command.reason
    rec.end_clock(EXTENSION_DECISION)
    if command.approve:
        request.granted = command.amount or request.amount
        rec.effects.clock_extensions[DEADLINE] = request.granted
        action, note = "extension_approved", f"{request.granted:g} granted"
    else:
        action, note = "extension_denied", None
    rec.record(command.actor, action, to_stage=CaseStage.IN_PROGRESS, reason=command.reason, note=note)


def check_suspend(state: CaseState, command: SuspendCase, now: datetime) -> None:
    rules.require_coordinator(state, command.actor, "suspend")
    rules.require_stage(state, "suspend", (CaseStage.IN_PROGRESS, CaseStage.EXTENSION_PENDING))
    rules.require_reason(command, "a suspension", "the clock stops only for a named outside dependency")


def apply_suspend(rec: Recorder, command: SuspendCase) -> None:
    state = rec.state
    state.suspended_at = rec.now
    state.stage_before_suspension = state.stage
    rec.effects.clock_suspends.append(DEADLINE)
    rec.end_clock(PROGRESS)
    rec.record(command.actor, "suspended", to_stage=CaseStage.SUSPENDED, reason=command.reason)


def check_resume(state: CaseState, command: ResumeCase, now: datetime) -> None:
    rules.require_coordinator(state, command.actor, "resume")
    rules.require_stage(state, "resume", (CaseStage.SUSPENDED,))


def apply_resume(rec: Recorder, command: ResumeCase) -> None:
    state = rec.state
    assert state.suspended_at is not None and state.stage_before_suspension is not None
    pause = Pause(started_at=state.suspended_at, ended_at=rec.now)
    rec.effects.clock_resumes[DEADLINE] = pause
    state.suspended_at = None
    stage, state.stage_before_suspension = state.stage_before_suspension, None
    rec.record(command.actor, "resumed", to_stage=stage, reason=command.reason, note=f"paused {pause.label}")
    start_progress(rec)
