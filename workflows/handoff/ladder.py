"""What the hand-off does when a rung of one of its SLA clocks fires: reminders, the SLA colour, the yellow card of
a late claim, the red card and supervision order of a missed feedback and the ladder after it, the automatic
acknowledgement, and the overdue reroute, push, measure and order. Pure functions of a `Change`; tests call them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.actors import SYSTEM_ACTOR
    from schemas.clock import FiredRung, RungKind
    from schemas.delivery import PushKind
    from schemas.handoff import HandoffClock, HandoffOrder, SlaColour
    from schemas.ledger import CardLevel, CardReason, SupervisionOrderStatus
    from schemas.orders import LADDER_PUSHES, order_number, supervision_order_id
    from workflows.handoff import machine
    from workflows.handoff.effects import Change, deeper


class RungAction(StrEnum):
    """What the hand-off does when a rung of one of its clocks fires."""

    NOTHING = "nothing"
    REMIND = "remind"  # a reminder push to the department whose step it is
    TURN_YELLOW = "turn_yellow"
    TURN_RED = "turn_red"
    YELLOW_CARD = "yellow_card"  # the claim limit passed
    RED_CARD_AND_ORDER = "red_card_and_order"  # the feedback limit passed
    REMINDER_NOTICE = "reminder_notice"
    CIRCULAR = "circular"
    ADMONITORY_TALK = "admonitory_talk"
    AUTO_ACKNOWLEDGE = "auto_acknowledge"
    REROUTE_OVERDUE = "reroute_overdue"  # the coordinator has not rerouted in time
    PUSH_OVERDUE = "push_overdue"  # the push is still undelivered at the matter's push limit
    ACT_OVERDUE = "act_overdue"  # the claimant has not started its measure within the matter's act limit
    ORDER_OVERDUE = "order_overdue"  # the supervision order is unanswered at its deadline


_BREACH: dict[HandoffClock, RungAction] = {
    HandoffClock.CLAIM: RungAction.YELLOW_CARD,
    HandoffClock.FEEDBACK: RungAction.RED_CARD_AND_ORDER,
    HandoffClock.ACKNOWLEDGE: RungAction.AUTO_ACKNOWLEDGE,
    HandoffClock.REROUTE: RungAction.REROUTE_OVERDUE,
    HandoffClock.PUSH: RungAction.PUSH_OVERDUE,
    HandoffClock.ACT: RungAction.ACT_OVERDUE,
    HandoffClock.SUPERVISION_ORDER: RungAction.ORDER_OVERDUE,
}

_BEFORE_DEADLINE: dict[RungKind, RungAction] = {
    RungKind.REMINDER: RungAction.REMIND,
    RungKind.BLUE: RungAction.REMIND,
    RungKind.YELLOW: RungAction.TURN_YELLOW,
    RungKind.ORANGE: RungAction.TURN_YELLOW,
    RungKind.RED: RungAction.TURN_RED,
    RungKind.ESCALATION_1: RungAction.REMIND,
}

# The ladder after a missed feedback; the supervision order was issued with the red card already.
_AFTER_FEEDBACK_BREACH: dict[RungKind, RungAction] = {
    RungKind.REMINDER_NOTICE: RungAction.REMINDER_NOTICE,
    RungKind.CIRCULAR: RungAction.CIRCULAR,
    RungKind.ESCALATION_2: RungAction.CIRCULAR,
    RungKind.ADMONITORY_TALK: RungAction.ADMONITORY_TALK,
    RungKind.ESCALATION_3: RungAction.ADMONITORY_TALK,
}


@dataclass(frozen=True)
class RungMeaning:
    action: RungAction
    breach: bool


def rung_meaning(clock: HandoffClock, rung: FiredRung, breached: bool) -> RungMeaning:
    """The first rung at or after the deadline is the breach, whatever the card profile calls it.

    Only the feedback clock climbs the ladder after its breach; the claim clock has done its work with the
    yellow card, and the acknowledgement and reroute clocks act once.
    """
    if rung.at >= rung.due_at and not breached:
        return RungMeaning(_BREACH[clock], breach=True)
    if breached:
        action = _AFTER_FEEDBACK_BREACH.get(rung.kind, RungAction.NOTHING)
        return RungMeaning(action if clock is HandoffClock.FEEDBACK else RungAction.NOTHING, breach=False)
    if clock is HandoffClock.FEEDBACK:
        return RungMeaning(_BEFORE_DEADLINE.get(rung.kind, RungAction.NOTHING), breach=False)
    if clock in (HandoffClock.ACT, HandoffClock.SUPERVISION_ORDER):
        # Reminders only: the feedback clock colours the loop, and the order came with a red card already.
        action = _BEFORE_DEADLINE.get(rung.kind, RungAction.NOTHING)
        return RungMeaning(action if action is RungAction.REMIND else RungAction.NOTHING, breach=False)
    if clock is HandoffClock.CLAIM:
        # A claim that is merely late earns a yellow card, so its clock never shows more than yellow.
        action = _BEFORE_DEADLINE.get(rung.kind, RungAction.NOTHING)
        return RungMeaning(RungAction.TURN_YELLOW if action is RungAction.TURN_RED else action, breach=False)
    return RungMeaning(RungAction.NOTHING, breach=False)


def colour_of(action: RungAction) -> SlaColour | None:
    if action in (RungAction.TURN_YELLOW, RungAction.YELLOW_CARD):
        return SlaColour.YELLOW
    if action in (RungAction.TURN_RED, RungAction.RED_CARD_AND_ORDER):
        return SlaColour.RED
    return None


def fire(change: Change, clock: HandoffClock, fired: FiredRung) -> None:
    """Carries out a fired rung. A missed feedback owes a supervision order (`Effects.order_to`): the shell counts its
    deadline, then `issue_order`."""
    state = change.state
    if not state.stage.is_open:
        return
    meaning = rung_meaning(clock, fired, clock in state.breached)
    if meaning.breach:
        state.breached.append(clock)
    colour = colour_of(meaning.action)
    if colour is not None:
        state.colour = deeper(state.colour, colour)
    action, receiver = meaning.action, state.receiver_code
    rung, due = change.fired(clock, fired), fired.due_at.isoformat()
    if action is RungAction.NOTHING:
        return
    if action in (RungAction.TURN_YELLOW, RungAction.TURN_RED):
        change.record(SYSTEM_ACTOR, f"sla_{state.colour.value}", None, rung)
    elif action is RungAction.REMIND and receiver is not None:
        change.record(SYSTEM_ACTOR, "reminded", None, rung)
        change.notify(receiver, PushKind.REMINDER, f"remind-{clock.value}", {"clock": clock.value, "due_at": due})
    elif action is RungAction.YELLOW_CARD and receiver is not None:
        change.stop(HandoffClock.CLAIM)
        change.card(
            CardLevel.YELLOW, receiver, CardReason.CLAIM_OVERDUE, clock.value, fired.due_at, fired.deadline_version
        )
    elif action is RungAction.RED_CARD_AND_ORDER and receiver is not None:
        change.escalate(receiver, RungKind.SUPERVISION_ORDER)
        change.card(
            CardLevel.RED, receiver, CardReason.FEEDBACK_OVERDUE, clock.value, fired.due_at, fired.deadline_version
        )
        change.effects.order_to = receiver
    elif action in (RungAction.REMINDER_NOTICE, RungAction.CIRCULAR, RungAction.ADMONITORY_TALK) and receiver:
        change.escalate(receiver, fired.kind)
        change.record(SYSTEM_ACTOR, action.value, None, rung)
        change.notify(
            receiver, LADDER_PUSHES[LADDER_RUNGS[action]], action.value, {"rung": action.value, "due_at": due}
        )
    elif action is RungAction.AUTO_ACKNOWLEDGE:
        machine.close(change, SYSTEM_ACTOR, "not acknowledged within the limit: acknowledged automatically", True)
    elif action is RungAction.REROUTE_OVERDUE:
        change.stop(HandoffClock.REROUTE)
        change.record(SYSTEM_ACTOR, "reroute_overdue", None, f"the coordinator has not routed it: {rung}")
    elif action is RungAction.PUSH_OVERDUE:
        # The coordinator sees it in the trail and the UI; delivery goes on as before.
        change.record(SYSTEM_ACTOR, "push_overdue", None, f"not delivered to {receiver}: {rung}")
    elif action is RungAction.ACT_OVERDUE and receiver is not None:
        change.record(SYSTEM_ACTOR, "act_overdue", None, f"{receiver} has not started its measure: {rung}")
        change.notify(receiver, PushKind.REMINDER, "act-overdue", {"clock": clock.value, "due_at": due})
    elif action is RungAction.ORDER_OVERDUE and receiver is not None:
        change.escalate(receiver, RungKind.CIRCULAR)
        change.record(SYSTEM_ACTOR, "supervision_order_overdue", None, f"{receiver}: {rung}")
        change.notify(receiver, PushKind.CIRCULAR, "order-overdue", {"rung": "circular", "due_at": due})


# The rung of the ladder each action climbs, whose push (LADDER_PUSHES) is the case's for the same rung.
LADDER_RUNGS: dict[RungAction, RungKind] = {
    RungAction.REMINDER_NOTICE: RungKind.REMINDER_NOTICE,
    RungAction.CIRCULAR: RungKind.CIRCULAR,
    RungAction.ADMONITORY_TALK: RungKind.ADMONITORY_TALK,
}


def issue_order(change: Change, department: str, fired: FiredRung, deadline: datetime) -> None:
    """The supervision order of a missed feedback, with its own clock up to `deadline`."""
    start, state, now = change.start, change.state, change.now
    number = order_number(len(state.supervision_orders) + 1)
    order = HandoffOrder(
        order_id=supervision_order_id(start.handoff_id, number),
        department_code=department,
        status=SupervisionOrderStatus.ISSUED,
        deadline=deadline,
        issued_at=now,
    )
    state.supervision_orders.append(order)
    change.arm(HandoffClock.SUPERVISION_ORDER, now, start.policy.order_answer_limit, gated=True)
    change.record_order(order, "issued", f"feedback limit {fired.due_at.isoformat()} missed")
    change.record(SYSTEM_ACTOR, "supervision_order_issued", None, f"{order.order_id} to {department}")
    change.notify(
        department,
        PushKind.SUPERVISION_ORDER,
        number,
        {"order_id": order.order_id, "deadline": order.deadline.isoformat()},
    )
