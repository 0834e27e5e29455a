"""The rules of one delivery day: pure functions that check a command or a timer against the day and apply it,
returning what the workflow must write, card and push. No awaits, no I/O.

The ladder of a day: a red card and a card push to the deliverer at the due time, a circular to both departments
when the day closes with nothing accepted. Days planned since the ladder climbed (`climbing`) go on like any step:
a missing day is also a supervision order to the deliverer and a circular that counts against it in the assessment,
and the third missing day of a month an admonitory talk, which counts too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.cards import IssuedCard
    from schemas.clock import RungKind
    from schemas.delivery import Push, PushKind
    from schemas.ledger import CardIssue, CardLevel, CardReason, ScoreEventInput, ScoreKind, SubjectKind
    from schemas.orders import LadderRung
    from schemas.rejections import Rejected
    from schemas.scheduled import (
        RULE_DELIVERER,
        RULE_RECEIVER,
        RULE_RECORDS,
        RULE_STATUS,
        DeliverCommand,
        DeliveryDayPlan,
        DeliveryDayView,
        DeliveryRejectionRecord,
        DeliveryStatus,
        RejectDeliveryCommand,
    )

STEP = "deliver"
# The missing day of a month (this one included) that earns the deliverer an admonitory talk.
TALK_AFTER_MISSING = 3
OPEN = (DeliveryStatus.EXPECTED, DeliveryStatus.OVERDUE)


@dataclass
class DayEffects:
    cards: list[CardIssue] = field(default_factory=list)
    pushes: list[Push] = field(default_factory=list)
    scores: list[ScoreEventInput] = field(default_factory=list)
    write: bool = True


def day_id(code: str, day: object) -> str:
    return f"delivery-{code}-{day}"


def opened(plan: DeliveryDayPlan) -> DeliveryDayView:
    entry = plan.entry
    return DeliveryDayView(
        delivery_code=entry.code,
        day=plan.day,
        deliverer=entry.deliverer,
        receiver=entry.receiver,
        status=DeliveryStatus.EXPECTED if plan.expected else DeliveryStatus.NOT_EXPECTED,
        why=plan.why,
        due_at=plan.due_at,
        missing_at=plan.missing_at,
        version=1,
    )


def check_deliver(view: DeliveryDayView, plan: DeliveryDayPlan, command: DeliverCommand) -> None:
    if command.department != view.deliverer:
        raise Rejected(RULE_DELIVERER, "department", f"only {view.deliverer} delivers {view.delivery_code}")
    if view.status not in OPEN:
        raise Rejected(RULE_STATUS, None, f"the day {view.day} is {view.status.value}; nothing to deliver")
    if len(command.records) > plan.entry.max_records:
        raise Rejected(RULE_RECORDS, "records", f"at most {plan.entry.max_records} records a day")


def deliver(
    view: DeliveryDayView, plan: DeliveryDayPlan, command: DeliverCommand, now: datetime
) -> tuple[DeliveryDayView, DayEffects]:
    check_deliver(view, plan, command)
    changed = view.model_copy(
        update={
            "status": DeliveryStatus.DELIVERED,
            "delivered_at": now,
            "late": now > view.due_at,
            "records": len(command.records),
            "digest": command.digest,
            "version": view.version + 1,
        }
    )
    push = Push(
        push_id=f"{day_id(view.delivery_code, view.day)}-{command.delivery_id}",
        department_code=view.receiver,
        kind=PushKind.SCHEDULED_DELIVERY,
        subject_id=day_id(view.delivery_code, view.day),
        issued_at=now,
        body={
            "delivery": view.delivery_code,
            "day": view.day.isoformat(),
            "digest": command.digest,
            "records": list(command.records),
        },
    )
    return changed, DayEffects(pushes=[push])


def check_reject(view: DeliveryDayView, command: RejectDeliveryCommand) -> None:
    if command.department != view.receiver:
        raise Rejected(RULE_RECEIVER, "department", f"only {view.receiver} rejects deliveries of {view.delivery_code}")
    if view.status is not DeliveryStatus.DELIVERED:
        raise Rejected(RULE_STATUS, None, f"the day {view.day} is {view.status.value}; there is no delivery to reject")


def reject(view: DeliveryDayView, command: RejectDeliveryCommand, now: datetime) -> tuple[DeliveryDayView, DayEffects]:
    """The receiver refuses the delivery: the expectation reopens, overdue if the due time has passed."""
    check_reject(view, command)
    changed = view.model_copy(
        update={
            "status": DeliveryStatus.OVERDUE if now > view.due_at else DeliveryStatus.EXPECTED,
            "delivered_at": None,
            "late": False,
            "records": 0,
            "digest": None,
            "rejections": [
                *view.rejections,
                DeliveryRejectionRecord(rejection_id=command.rejection_id, reason=command.reason, rejected_at=now),
            ],
            "version": view.version + 1,
        }
    )
    push = Push(
        push_id=f"{day_id(view.delivery_code, view.day)}-rejected-{command.rejection_id}",
        department_code=view.deliverer,
        kind=PushKind.DELIVERY_REJECTED,
        subject_id=day_id(view.delivery_code, view.day),
        issued_at=now,
        body={"delivery": view.delivery_code, "day": view.day.isoformat(), "reason": command.reason},
    )
    return changed, DayEffects(pushes=[push])


def due_passed(view: DeliveryDayView, now: datetime) -> tuple[DeliveryDayView, DayEffects]:
    """Nothing accepted by the due time: overdue, and a red card to the deliverer."""
    if view.status is not DeliveryStatus.EXPECTED:
        return view, DayEffects(write=False)
    subject = day_id(view.delivery_code, view.day)
    card = CardIssue(
        card_id=f"{subject}-{STEP}-red",
        subject_id=subject,
        subject_kind=SubjectKind.DELIVERY,
        department_code=view.deliverer,
        level=CardLevel.RED,
        reason=CardReason.DELIVERY_LATE,
        step=STEP,
        due_at=view.due_at,
        issued_at=now,
    )
    issued = IssuedCard(
        card_id=card.card_id, department=view.deliverer, level=card.level, reason=card.reason, step=STEP, issued_at=now
    )
    changed = view.model_copy(
        update={"status": DeliveryStatus.OVERDUE, "cards": [*view.cards, issued], "version": view.version + 1}
    )
    push = Push(
        push_id=f"{card.card_id}-card",
        department_code=view.deliverer,
        kind=PushKind.CARD,
        subject_id=subject,
        issued_at=now,
        body={"level": card.level.value, "reason": card.reason.value, "due_at": view.due_at.isoformat()},
    )
    return changed, DayEffects(cards=[card], pushes=[push])


def day_closed(
    view: DeliveryDayView, now: datetime, *, climbing: bool = False, missing_before: int = 0
) -> tuple[DeliveryDayView, DayEffects]:
    """The day closes: nothing accepted is missing, and both departments receive a circular; `climbing`, the
    deliverer also climbs the ladder (`missing_before`: its missing days earlier in the month)."""
    if view.status not in OPEN:
        return view, DayEffects(write=False)
    subject = day_id(view.delivery_code, view.day)
    rungs = _climbed(missing_before, now) if climbing else []
    changed = view.model_copy(
        update={"status": DeliveryStatus.MISSING, "ladder": [*view.ladder, *rungs], "version": view.version + 1}
    )
    scores = [
        ScoreEventInput(
            event_id=f"{subject}-{rung.kind.value}",
            department_code=view.deliverer,
            kind=SCORED[rung.kind],
            subject_id=subject,
            occurred_at=now,
            note=f"scheduled delivery {view.delivery_code} missing on {view.day.isoformat()}",
        )
        for rung in rungs
        if rung.kind in SCORED
    ]
    pushes = [
        Push(
            push_id=f"{subject}-missing-{department}",
            department_code=department,
            kind=PushKind.CIRCULAR,
            subject_id=subject,
            issued_at=now,
            body={"delivery": view.delivery_code, "day": view.day.isoformat(), "missing": True},
        )
        for department in (view.deliverer, view.receiver)
    ]
    return changed, DayEffects(pushes=pushes, scores=scores)


SCORED = {RungKind.CIRCULAR: ScoreKind.CIRCULAR, RungKind.ADMONITORY_TALK: ScoreKind.ADMONITORY_TALK}


def _climbed(missing_before: int, now: datetime) -> list[LadderRung]:
    kinds = [RungKind.SUPERVISION_ORDER, RungKind.CIRCULAR]
    if missing_before + 1 >= TALK_AFTER_MISSING:
        kinds.append(RungKind.ADMONITORY_TALK)
    return [LadderRung(kind=kind, at=now, fired_at=now) for kind in kinds]


def order_of(view: DeliveryDayView) -> tuple[str, str]:
    """The basis and content of the order a missing day's ladder issues the deliverer."""
    return (
        f"escalation ladder: scheduled delivery {view.delivery_code} missing on {view.day.isoformat()}",
        f"Deliver the missing {view.day.isoformat()} records of {view.delivery_code} and answer this order.",
    )


def order_unanswered(view: DeliveryDayView, now: datetime) -> tuple[DeliveryDayView, list[ScoreEventInput]]:
    """An order unanswered at its deadline climbs the day's next rung: the admonitory talk, unless the day reached it
    already; it counts against the deliverer."""
    if any(rung.kind is RungKind.ADMONITORY_TALK for rung in view.ladder):
        return view, []
    subject = day_id(view.delivery_code, view.day)
    talk = LadderRung(kind=RungKind.ADMONITORY_TALK, at=now, fired_at=now)
    score = ScoreEventInput(
        event_id=f"{subject}-{talk.kind.value}",
        department_code=view.deliverer,
        kind=ScoreKind.ADMONITORY_TALK,
        subject_id=subject,
        occurred_at=now,
        note=f"the supervision order for {view.delivery_code} missing on {view.day.isoformat()} went unanswered",
    )
    return view.model_copy(update={"ladder": [*view.ladder, talk], "version": view.version + 1}), [score]
