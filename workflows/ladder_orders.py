"""The supervision orders a late joint step's or a missing delivery day's ladder issues: pure functions over the
subject's list of orders, returning the order transitions to record (`supervision_orders` and its audit trail, as a
case's orders are) and the cards. No awaits, no I/O.

An order is issued to the late department with a deadline the legal clock computed; only that department answers
it; unanswered at its deadline it earns a red card and the subject's ladder climbs its next rung; when the subject
closes, the orders still awaited are lifted.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.actors import Role
    from schemas.cards import IssuedCard
    from schemas.ledger import (
        AuditEntry,
        CardIssue,
        CardLevel,
        CardReason,
        SubjectKind,
        SupervisionOrderSnapshot,
        SupervisionOrderStatus,
        SupervisionOrderTransition,
    )
    from schemas.orders import (
        RULE_ORDER,
        RULE_ORDER_DEPARTMENT,
        RULE_ORDER_STATUS,
        AnswerLadderOrder,
        LadderOrder,
        order_number,
        supervision_order_id,
    )
    from schemas.rejections import Rejected

SYSTEM = Role.SYSTEM.value
# The department that owes the late step leads it, as the case's lead owes its ladder orders.
ORDERED = Role.LEAD.value
# The level a ladder's order is stored under, as the case's ladder names it.
LEVEL = "supervision_order"


def issue(
    subject_id: str,
    orders: list[LadderOrder],
    department: str,
    step: str,
    *,
    basis: str,
    content: str,
    deadline: datetime,
    now: datetime,
) -> tuple[list[LadderOrder], SupervisionOrderTransition]:
    order = LadderOrder(
        order_id=supervision_order_id(subject_id, order_number(len(orders) + 1)),
        department=department,
        step=step,
        basis=basis,
        content=content,
        deadline=deadline,
        issued_at=now,
    )
    return [*orders, order], _transition(subject_id, order, SYSTEM, None, "issued", basis, now)


def check_answer(orders: list[LadderOrder], command: AnswerLadderOrder) -> LadderOrder:
    order = next((order for order in orders if order.order_id == command.order_id), None)
    if order is None:
        raise Rejected(RULE_ORDER, "order_id", f"{command.order_id} is not a supervision order issued here")
    if command.department != order.department:
        raise Rejected(RULE_ORDER_DEPARTMENT, "department", f"{order.order_id} is addressed to {order.department}")
    if order.status is not SupervisionOrderStatus.ISSUED:
        raise Rejected(RULE_ORDER_STATUS, "order_id", f"{order.order_id} is {order.status.value}; it takes no answer")
    return order


def validate_answer(orders: list[LadderOrder] | None, seen: set[str], command: AnswerLadderOrder) -> None:
    """An answer's update validator: before the workflow has a view, and for a command id already applied (the
    handler answers it again), nothing to check; else the refusal as the update's error."""
    if orders is None or command.command_id in seen:
        return
    try:
        check_answer(orders, command)
    except Rejected as rejected:
        raise rejected.rejection.error() from None


def answer(
    subject_id: str, orders: list[LadderOrder], command: AnswerLadderOrder, now: datetime
) -> tuple[list[LadderOrder], SupervisionOrderTransition]:
    """The ordered department answers; after the deadline the answer is taken all the same (the card stands)."""
    order = check_answer(orders, command)
    answered = order.model_copy(
        update={"status": SupervisionOrderStatus.ANSWERED, "answered_at": now, "seq": order.seq + 1}
    )
    changed = [answered if each.order_id == order.order_id else each for each in orders]
    return changed, _transition(subject_id, answered, ORDERED, command.department, "answered", command.answer, now)


def overdue(
    subject_id: str, subject_kind: SubjectKind, orders: list[LadderOrder], now: datetime
) -> tuple[list[LadderOrder], list[LadderOrder], list[CardIssue]]:
    """Awaited orders past their deadline: marked, and a red card each. Answers the orders, the ones newly overdue
    (their steps climb the next rung) and the cards."""
    late = [order for order in orders if order.awaited and now >= order.deadline]
    if not late:
        return orders, [], []
    marked = {order.order_id: order.model_copy(update={"overdue_at": now}) for order in late}
    cards = [
        CardIssue(
            card_id=f"{order.order_id}-red",
            subject_id=subject_id,
            subject_kind=subject_kind,
            department_code=order.department,
            level=CardLevel.RED,
            reason=CardReason.DEADLINE_OVERDUE,
            step=LEVEL,
            due_at=order.deadline,
            issued_at=now,
        )
        for order in late
    ]
    return [marked.get(order.order_id, order) for order in orders], list(marked.values()), cards


def kept(cards: list[CardIssue]) -> list[IssuedCard]:
    """The cards as the subject's view keeps them beside its own."""
    return [
        IssuedCard(
            card_id=card.card_id,
            department=card.department_code,
            level=card.level,
            reason=card.reason,
            step=card.step,
            issued_at=card.issued_at,
        )
        for card in cards
    ]


def lift_awaited(
    subject_id: str, orders: list[LadderOrder], why: str, now: datetime
) -> tuple[list[LadderOrder], list[SupervisionOrderTransition]]:
    """The subject closed: the orders still issued are lifted, as a closing case lifts its orders."""
    lifted: dict[str, LadderOrder] = {}
    transitions: list[SupervisionOrderTransition] = []
    for order in orders:
        if order.status is SupervisionOrderStatus.ISSUED:
            changed = order.model_copy(
                update={"status": SupervisionOrderStatus.LIFTED, "lifted_at": now, "seq": order.seq + 1}
            )
            lifted[order.order_id] = changed
            transitions.append(_transition(subject_id, changed, SYSTEM, None, "lifted", why, now))
    return [lifted.get(order.order_id, order) for order in orders], transitions


def next_due(orders: list[LadderOrder]) -> datetime | None:
    dues = [order.deadline for order in orders if order.awaited]
    return min(dues) if dues else None


def _transition(
    subject_id: str,
    order: LadderOrder,
    actor: str,
    actor_id: str | None,
    action: str,
    reason: str | None,
    now: datetime,
) -> SupervisionOrderTransition:
    return SupervisionOrderTransition(
        entry=AuditEntry(
            subject_id=order.order_id,
            subject_kind=SubjectKind.SUPERVISION_ORDER,
            seq=order.seq,
            actor=actor,
            actor_id=actor_id,
            action=action,
            reason=reason,
            at=now,
        ),
        order=SupervisionOrderSnapshot(
            order_id=order.order_id,
            case_id=subject_id,
            department_code=order.department,
            level=LEVEL,
            basis=order.basis,
            content=order.content,
            status=order.status,
            deadline=order.deadline,
            issued_at=order.issued_at,
            answered_at=order.answered_at,
            lifted_at=order.lifted_at,
        ),
    )
