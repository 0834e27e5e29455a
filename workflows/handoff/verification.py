"""A party checks a fact in another department's system for the hand-off, and the outcome is attached: pure rules.

The shell checks the command (`machine.check`: a party of the hand-off, while it is open), makes the call through the
verify activity outside the lock, then applies `attach` under it: the outcome and the answer's digest only. The
question and the answer are personal data and stay out of the state, the trail and the store. A department the
registry does not grant the item is refused (`verification.grant`) and nothing is attached.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.actors import Actor
    from schemas.handoff import HandoffStart, HandoffVerification, VerifyFact
    from schemas.rejections import Rejected
    from schemas.verification import Purpose, PurposeKind, VerificationOutcome, VerificationRequest, VerificationResult
    from workflows.handoff.effects import Change

MAX_VERIFICATIONS = 200  # per hand-off: each is a line of the view
# Hand-offs mark the histories that carry a verification call (the verify activity inside a command's update).
VERIFY_FACT_PATCH = "handoff-verifies-facts"


def call_id(update_id: str) -> str:
    """The call's id: the command id, marked as the hand-off's so it never meets a department's own call ids."""
    return f"handoff.{update_id}"[:200]


def request(start: HandoffStart, command: VerifyFact, update_id: str) -> VerificationRequest:
    return VerificationRequest(
        call_id=call_id(update_id),
        item_code=command.item,
        asking_department=command.actor.department,
        purpose=Purpose(kind=PurposeKind.HANDOFF, id=start.handoff_id),
        question=command.question,
    )


def granted(command: VerifyFact, result: VerificationResult) -> None:
    """A refusal for want of a grant is the command's rejection: nothing is attached."""
    if result.outcome is VerificationOutcome.NOT_GRANTED:
        raise Rejected(
            "verification.grant",
            "item",
            f"{command.actor.department} holds no grant for shared data item {command.item} in the registry",
        )


def attach(change: Change, command: VerifyFact, result: VerificationResult) -> None:
    """The outcome as the hand-off keeps it: a line of its view and an audit entry with the answer's digest."""
    if len(change.state.verifications) >= MAX_VERIFICATIONS:
        raise Rejected("verification.max", "item", f"a hand-off takes at most {MAX_VERIFICATIONS} verifications")
    change.state.verifications.append(
        HandoffVerification(
            call_id=result.call_id,
            item=result.item_code,
            asked_by=Actor(department=command.actor.department, role=command.actor.role),
            answering_department=result.answering_department,
            system=result.system,
            outcome=result.outcome.value,
            answer_digest=result.answer_digest,
            detail=result.detail,
            at=change.now,
        )
    )
    digest = f"; answer digest {result.answer_digest}" if result.answer_digest else ""
    why = f" ({command.reason})" if command.reason else ""
    line = f"{result.item_code} by {result.answering_department} ({result.system}): {result.outcome.value}{digest}"
    change.record(command.actor, "verified", None, f"{line}{why}"[:2000])
