"""Supervision beside the main machine: cards and their appeals, supervision orders (issued → received → answered →
lifted), comments."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.case.commands import (
        Actor,
        AnswerSupervisionOrder,
        CommentOnCase,
        IssueSupervisionOrder,
        LiftSupervisionOrder,
        ReceiveSupervisionOrder,
        RevokeCard,
    )
    from schemas.case.stages import ClockStep, Role, SupervisionLevel
    from schemas.case.state import CaseClock, CaseState, IssuedCard, SupervisionOrder
    from schemas.delivery import PushKind
    from schemas.ledger import CardLevel, CardReason, CardRevocation, SupervisionOrderStatus
    from schemas.orders import order_number
    from schemas.registry import Limit
    from workflows.case import rules
    from workflows.case.effects import SYSTEM, Recorder
    from workflows.case.rules import Rejected


def card(rec: Recorder, department: str, level: CardLevel, reason: CardReason, clock: CaseClock | None) -> None:
    """Issues a card: the store (card + score event), the department (push + SMS) and the audit trail."""
    state = rec.state
    note = reason.value.replace("_", " ")
    if clock is not None and clock.sla.due_at is not None:
        note += f", due {clock.sla.due_at.isoformat()}"
    earlier_yellow = any(c.department == department and c.level is CardLevel.YELLOW and c.counts for c in state.cards)
    if level is CardLevel.YELLOW and earlier_yellow and state.registration.policy.second_yellow_is_red:
        level, reason, note = CardLevel.RED, CardReason.SECOND_YELLOW, f"{note}; second yellow card on this case"
    issued = rec.card(department, level, reason, clock)
    rec.record(SYSTEM, f"card_{level.value}", note=f"{department}: {note}")
    rec.push(
        department,
        PushKind.CARD,
        {
            "card_id": issued.card_id,
            "level": level.value,
            "reason": reason.value,
            "step": clock.step.value if clock else None,
        },
    )
    rec.sms(department, "card", {"level": level.value, "reason": reason.value})


def card_of(state: CaseState, card_id: str) -> IssuedCard:
    for issued in state.cards:
        if issued.card_id == card_id:
            return issued
    raise Rejected("card.unknown", "card_id", f"this case issued no card {card_id}")


def check_revoke_card(state: CaseState, command: RevokeCard, now: datetime) -> None:
    rules.require_coordinator(state, command.actor, "revoke a card")
    rules.require_reason(command, "revoking a card", "an appeal is decided on its grounds, and the ledger keeps them")
    issued = card_of(state, command.card_id)
    if issued.revoked_at is not None:
        raise Rejected(
            "card.revoked",
            "card_id",
            f"card {command.card_id} was revoked by {issued.revoked_by} at {issued.revoked_at.isoformat()}",
        )


def apply_revoke_card(rec: Recorder, command: RevokeCard) -> None:
    """An appeal upheld: the card stays on the record, marked revoked, and its score event is reversed."""
    assert command.reason is not None
    reason = command.reason.strip()
    issued = card_of(rec.state, command.card_id)
    issued.revoked_at = rec.now
    issued.revoked_by = command.actor.department
    issued.revocation_reason = reason
    rec.effects.revocations.append(
        CardRevocation(card_id=command.card_id, revoked_at=rec.now, revoked_by=command.actor.department, reason=reason)
    )
    note = f"{command.card_id}: {issued.level.value} card of {issued.department} ({issued.reason.value})"
    rec.record(command.actor, "card_revoked", reason=reason, note=note)
    rec.push(
        issued.department,
        PushKind.CARD,
        {"card_id": command.card_id, "level": issued.level.value, "reason": issued.reason.value, "revoked": True},
    )
    rec.effects.subject_id = command.card_id


def order_key(order: SupervisionOrder) -> str:
    return f"{ClockStep.SUPERVISION_ORDER.value}:{order.order_id}"


def issue(
    rec: Recorder,
    department: str,
    *,
    basis: str,
    content: str,
    limit: Limit,
    issued_by: Actor | None,
    co_departments: list[str] | None = None,
) -> SupervisionOrder:
    state = rec.state
    order = SupervisionOrder(
        order_id=order_number(len(state.orders) + 1),
        department=department,
        co_departments=co_departments or [],
        issued_by=issued_by,
        level=SupervisionLevel.SUPERVISION_ORDER,
        basis=basis,
        content=content,
        limit=limit,
        issued_at=rec.now,
    )
    state.orders.append(order)
    rec.raise_level(SupervisionLevel.SUPERVISION_ORDER)
    rec.start_clock(order_key(order), ClockStep.SUPERVISION_ORDER, department, limit, subject=order.order_id)
    actor = issued_by or SYSTEM
    rec.record_order(order, actor, "issued", basis)
    rec.record(actor, "order_issued", reason=basis, note=f"{order.order_id} to {department}")
    rec.push(department, PushKind.SUPERVISION_ORDER, {"order_id": order.order_id, "basis": basis, "content": content})
    for co_department in order.co_departments:
        rec.push(co_department, PushKind.SUPERVISION_ORDER, {"order_id": order.order_id, "basis": basis, "co": True})
    rec.sms(department, "supervision_order", {"order_id": order.order_id})
    rec.effects.subject_id = order.order_id
    return order


def lift(rec: Recorder, order: SupervisionOrder, actor: Actor, reason: str | None) -> None:
    order.status = SupervisionOrderStatus.LIFTED
    order.lifted_at = rec.now
    rec.end_clock(order_key(order))
    rec.record_order(order, actor, "lifted", reason)
    rec.record(actor, "order_lifted", reason=reason, note=order.order_id)


def lift_all(rec: Recorder, why: str) -> None:
    for order in rec.state.orders:
        if order.open:
            lift(rec, order, SYSTEM, why)


def check_issue(state: CaseState, command: IssueSupervisionOrder, now: datetime) -> None:
    rules.require_supervisor(state, command.actor, "issue a supervision order")
    rules.require_stage(state, "issue a supervision order", rules.LAUNCHED_AND_OPEN)
    rules.require_reason(command, "a supervision order", "its basis (the breach, a leader's instruction) is the reason")
    rules.assignment_of(state, command.department, "department")
    if command.limit is not None:
        rules.check_limit(state, command.limit, "limit")
    most = state.registration.policy.max_supervision_orders
    if len(state.orders) >= most:
        raise Rejected("order.max", "department", f"a case holds at most {most} supervision orders")


def apply_issue(rec: Recorder, command: IssueSupervisionOrder) -> None:
    assert command.reason is not None
    issue(
        rec,
        command.department,
        basis=command.reason,
        content=command.content,
        limit=command.limit or rec.state.registration.policy.supervision_order_limit,
        issued_by=command.actor,
        co_departments=command.co_departments,
    )


def _addressee(state: CaseState, actor: Actor, order: SupervisionOrder, command: str) -> None:
    """The order's addressee, acting in the part it holds on the case: the audit trail records that role."""
    if actor.role not in (Role.LEAD, Role.LOCALITY, Role.CO_UNIT):
        raise Rejected("actor.role", "actor.role", f"{command} is for the department the order is addressed to")
    if actor.department != order.department:
        raise Rejected(
            "actor.department", "actor.department", f"order {order.order_id} is addressed to {order.department}"
        )
    if not any(
        assignment.active and assignment.department == actor.department and assignment.party.role is actor.role
        for assignment in state.assignments
    ):
        raise Rejected(
            "actor.role",
            "actor.role",
            f"{actor.department} may {command} only in the part it holds: it holds no {actor.role.value} "
            "assignment on this case",
        )


def _require_status(order: SupervisionOrder, command: str, status: SupervisionOrderStatus, rule: str) -> None:
    if order.status is not status:
        raise Rejected(
            rule, "order_id", f"{command}: order {order.order_id} is {order.status.value}, not {status.value}"
        )


def check_receive(state: CaseState, command: ReceiveSupervisionOrder, now: datetime) -> None:
    order = rules.order_of(state, command.order_id)
    _addressee(state, command.actor, order, "receive a supervision order")
    _require_status(order, "receive", SupervisionOrderStatus.ISSUED, "order.status")


def apply_receive(rec: Recorder, command: ReceiveSupervisionOrder) -> None:
    order = rules.order_of(rec.state, command.order_id)
    order.status = SupervisionOrderStatus.RECEIVED
    order.received_at = rec.now
    rec.record_order(order, command.actor, "received", command.reason)
    rec.record(command.actor, "order_received", reason=command.reason, note=order.order_id)


def check_answer(state: CaseState, command: AnswerSupervisionOrder, now: datetime) -> None:
    order = rules.order_of(state, command.order_id)
    _addressee(state, command.actor, order, "answer a supervision order")
    _require_status(order, "answer", SupervisionOrderStatus.RECEIVED, "order.not-received")


def apply_answer(rec: Recorder, command: AnswerSupervisionOrder) -> None:
    order = rules.order_of(rec.state, command.order_id)
    order.status = SupervisionOrderStatus.ANSWERED
    order.answered_at = rec.now
    order.answer = command.answer
    rec.end_clock(order_key(order))
    rec.record_order(order, command.actor, "answered", command.reason)
    rec.record(command.actor, "order_answered", reason=command.reason, note=order.order_id)


def check_lift(state: CaseState, command: LiftSupervisionOrder, now: datetime) -> None:
    rules.require_supervisor(state, command.actor, "lift a supervision order")
    order = rules.order_of(state, command.order_id)
    if not order.open:
        raise Rejected("order.status", "order_id", f"order {order.order_id} is already lifted")
    if order.status is not SupervisionOrderStatus.ANSWERED:
        rules.require_reason(command, "lifting an unanswered order", "the order was never answered")


def apply_lift(rec: Recorder, command: LiftSupervisionOrder) -> None:
    lift(rec, rules.order_of(rec.state, command.order_id), command.actor, command.reason)


def check_comment(state: CaseState, command: CommentOnCase, now: datetime) -> None:
    rules.require_not_system(command.actor)
    if not rules.known_actor(state, command.actor):
        raise Rejected(
            "actor.department", "actor", f"{command.actor.label} has no part in this case and may not comment"
        )
    most = state.registration.policy.max_comments
    if state.comments >= most:
        raise Rejected("comment.max", "text", f"a case takes at most {most} comments")


def apply_comment(rec: Recorder, command: CommentOnCase) -> None:
    rec.state.comments += 1
    rec.record(command.actor, "commented", reason=command.reason, note=command.text)
