"""What a hand-off writes to the store, as pure functions of its start and state: the audit entry with the read
model after it, a supervision order's entry and state, a card, the on-time score. The workflow shell queues them
(`StoreWrite`) and writes a transition's in one store activity.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.actors import SYSTEM_ACTOR, Actor
    from schemas.handoff import HandoffOrder, HandoffStage, HandoffStart, HandoffState, StoreWrite
    from schemas.ledger import (
        AuditEntry,
        CardIssue,
        CardLevel,
        CardReason,
        HandoffSnapshot,
        HandoffTransition,
        ScoreEventInput,
        ScoreKind,
        SubjectKind,
        SupervisionOrderSnapshot,
        SupervisionOrderTransition,
    )
    from workflows.handoff import presentation


@dataclass(frozen=True)
class Transition:
    """The audit entry `seq` of a transition; the read model written with it is the state's as it is written."""

    seq: int
    actor: Actor
    action: str
    before: HandoffStage
    after: HandoffStage
    reason: str | None
    at: datetime


def snapshot(start: HandoffStart, state: HandoffState) -> HandoffSnapshot:
    """The hand-off's row in the read model."""
    pushed = [route.pushed_at for route in state.routes if route.pushed_at is not None]
    due_at, due_step = presentation.next_due(state)
    return HandoffSnapshot(
        handoff_id=start.handoff_id,
        matter_code=start.matter.code,
        direction=start.direction.value,
        stage=state.stage.value,
        source_department=start.event.source_department,
        target_department=state.receiver_code,
        source_case_number=start.event.reference,
        locality=start.event.locality_code,
        push_version=max(state.version, 1),
        created_at=start.created_at,
        pushed_at=pushed[-1] if pushed else None,
        claimed_at=state.claimed_at,
        feedback_at=state.feedback.sent_at if state.feedback else None,
        closed_at=state.closed_at or state.terminated_at,
        next_due_at=due_at,
        next_due_step=due_step,
        sla_colour=state.colour.value,
    )


def transition(
    start: HandoffStart,
    state: HandoffState,
    step: Transition,
) -> StoreWrite:
    """The audit entry of a transition with the read model as the state is now. The actor's role is spelled as the
    case spells it (`coordinator`, `system`)."""
    entry = AuditEntry.by(
        step.actor,
        step.action,
        subject_id=start.handoff_id,
        subject_kind=SubjectKind.HANDOFF,
        seq=step.seq,
        reason=step.reason,
        from_stage=step.before.value,
        to_stage=step.after.value,
        at=step.at,
    )
    return StoreWrite(transition=HandoffTransition(entry=entry, handoff=snapshot(start, state)))


def order_transition(start: HandoffStart, order: HandoffOrder, action: str, reason: str, at: datetime) -> StoreWrite:
    """A supervision order's own audit entry (its `seq`) and its state; the system issues, answers and lifts it."""
    entry = AuditEntry.by(
        SYSTEM_ACTOR,
        action,
        subject_id=order.order_id,
        subject_kind=SubjectKind.SUPERVISION_ORDER,
        seq=order.seq,
        reason=reason,
        to_stage=order.status.value,
        at=at,
    )
    order_state = SupervisionOrderSnapshot(
        order_id=order.order_id,
        case_id=start.handoff_id,
        department_code=order.department_code,
        level="red",
        basis=f"hand-off feedback overdue ({start.matter.code})",
        content=f"Send the feedback of hand-off {start.handoff_id} by {order.deadline.isoformat()}",
        status=order.status,
        deadline=order.deadline,
        issued_at=order.issued_at,
        answered_at=order.answered_at,
        lifted_at=order.lifted_at,
    )
    return StoreWrite(order=SupervisionOrderTransition(entry=entry, order=order_state))


def card_id(start: HandoffStart, step: str, deadline_version: int, level: CardLevel) -> str:
    """One card per step, deadline and level: a rung fired again after a restart issues none twice."""
    return f"{start.handoff_id}:{step}:v{deadline_version}:{level.value}"


def card(
    start: HandoffStart,
    identifier: str,
    level: CardLevel,
    department: str,
    reason: CardReason,
    step: str,
    due_at: datetime,
    at: datetime,
) -> StoreWrite:
    return StoreWrite(
        card=CardIssue(
            card_id=identifier,
            subject_id=start.handoff_id,
            subject_kind=SubjectKind.HANDOFF,
            department_code=department,
            level=level,
            reason=reason,
            step=step,
            due_at=due_at,
            issued_at=at,
        )
    )


def on_time(start: HandoffStart, receiver: str, at: datetime) -> StoreWrite:
    """The receiver's score for a loop closed without a missed feedback limit."""
    return StoreWrite(
        score=ScoreEventInput(
            event_id=f"{start.handoff_id}:on-time",
            department_code=receiver,
            kind=ScoreKind.ON_TIME_CLOSE,
            subject_id=start.handoff_id,
            occurred_at=at,
            note=f"hand-off loop closed on time ({start.matter.code})",
        )
    )
