"""A party checks a fact in another department's system for the case, and the outcome is attached: pure rules.

`check_verify` runs before the call (from the update's validator and again under the lock); the workflow then makes
the call through the verify activity and applies `AttachVerification`, which carries the outcome and the answer's
digest only: the question and the answer are personal data and stay out of the state, the timeline and the store.
A department the registry does not grant the item is refused (`verification.grant`) and nothing is attached.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.case.commands import Actor, AttachVerification, VerifyFact
    from schemas.case.state import CaseState, CaseVerification
    from schemas.verification import Purpose, PurposeKind, VerificationOutcome, VerificationRequest, VerificationResult
    from workflows.case import rules
    from workflows.case.effects import Recorder
    from workflows.case.rules import Rejected

MAX_VERIFICATIONS = 200  # per case: each is a line of the view


def check_verify(state: CaseState, command: VerifyFact | AttachVerification, now: datetime) -> None:
    rules.require_not_system(command.actor)
    if not rules.known_actor(state, command.actor):
        raise Rejected(
            "actor.department", "actor", f"{command.actor.label} has no part in this case and may not verify for it"
        )
    if state.ended_at is not None:
        raise Rejected("verification.case-ended", "case_id", "the case has ended: nothing more is verified for it")
    if len(state.verifications) >= MAX_VERIFICATIONS:
        raise Rejected("verification.max", "item", f"a case takes at most {MAX_VERIFICATIONS} verifications")


def apply_verify(rec: Recorder, command: VerifyFact) -> None:
    raise AssertionError("a VerifyFact is applied as the AttachVerification its call brings back")


def apply_attach(rec: Recorder, command: AttachVerification) -> None:
    rec.state.verifications.append(
        CaseVerification(
            call_id=command.call_id,
            item=command.item,
            asked_by=Actor(department=command.actor.department, role=command.actor.role),
            answering_department=command.answering_department,
            system=command.system,
            outcome=command.outcome.value,
            answer_digest=command.answer_digest,
            detail=command.detail,
            at=rec.now,
        )
    )
    digest = f"; answer digest {command.answer_digest}" if command.answer_digest else ""
    rec.record(
        command.actor,
        "verified",
        reason=command.reason,
        note=f"{command.item} by {command.answering_department} ({command.system}): {command.outcome.value}{digest}",
    )


def call_id(update_id: str) -> str:
    """The call's id: the command id, marked as the case's so it never meets a department's own call ids."""
    return f"case.{update_id}"[:200]


def request(state: CaseState, command: VerifyFact, update_id: str) -> VerificationRequest:
    return VerificationRequest(
        call_id=call_id(update_id),
        item_code=command.item,
        asking_department=command.actor.department,
        purpose=Purpose(kind=PurposeKind.CASE, id=state.case_id),
        question=command.question,
    )


def attachment(command: VerifyFact, result: VerificationResult) -> AttachVerification:
    """The result as the case keeps it; a refusal for want of a grant is the command's rejection instead."""
    if result.outcome is VerificationOutcome.NOT_GRANTED:
        raise Rejected(
            "verification.grant",
            "item",
            f"{command.actor.department} holds no grant for shared data item {command.item} in the registry",
        )
    return AttachVerification(
        actor=command.actor,
        reason=command.reason,
        item=result.item_code,
        call_id=result.call_id,
        answering_department=result.answering_department,
        system=result.system,
        outcome=result.outcome,
        answer_digest=result.answer_digest,
        detail=result.detail,
    )
