"""What each fired rung of a step's clock does: reminders, cards and the escalation ladder (DESIGN.md §4).

- the coordinator's own steps (accept, rulings, decisions, review, follow-up) earn a reminder at the deadline;
- a party's step: a reminder at 50 %, a card at the deadline (yellow for sign, commit and progress reports,
  red for the committed deadline and a supervision order), then the ladder: a reminder notice (for a
  signature also an escalation to the coordinator, who may then force-sign), a supervision order, a circular
  and an admonitory talk;
- colour rungs (blue, yellow, orange) only change the computed SLA colour.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.case.stages import ClockStep, SupervisionLevel
    from schemas.case.state import CaseClock
    from schemas.clock import RungKind
    from schemas.delivery import PushKind
    from schemas.ledger import CardLevel, CardReason
    from schemas.orders import LADDER_PUSHES
    from workflows.case import rules, supervision
    from workflows.case.effects import SYSTEM, Recorder

BREACH_CARDS: dict[ClockStep, tuple[CardLevel, CardReason]] = {
    ClockStep.SIGN: (CardLevel.YELLOW, CardReason.SIGN_OVERDUE),
    ClockStep.COMMIT: (CardLevel.YELLOW, CardReason.COMMIT_OVERDUE),
    ClockStep.PROGRESS_REPORT: (CardLevel.YELLOW, CardReason.REPORT_OVERDUE),
    ClockStep.DEADLINE: (CardLevel.RED, CardReason.DEADLINE_OVERDUE),
    ClockStep.SUPERVISION_ORDER: (CardLevel.RED, CardReason.DEADLINE_OVERDUE),
}

# Profiles with escalation levels instead of a ladder climb the same rungs.
LADDER_EQUIVALENT: dict[RungKind, RungKind] = {
    RungKind.ESCALATION_1: RungKind.REMINDER_NOTICE,
    RungKind.ESCALATION_2: RungKind.SUPERVISION_ORDER,
    RungKind.ESCALATION_3: RungKind.CIRCULAR,
    RungKind.BLUE: RungKind.REMINDER,
}


def on_rung(rec: Recorder, clock: CaseClock, kind: RungKind) -> None:
    clock.colour = rules.clock_colour(clock)
    kind = LADDER_EQUIVALENT.get(kind, kind)
    if clock.step.watches_coordinator:
        if kind is RungKind.RED:
            _remind(rec, clock, "reminder", "the step is overdue")
        return
    if kind is RungKind.REMINDER:
        _remind(rec, clock, "reminder", "half of the limit has elapsed")
    elif kind is RungKind.RED:
        _breach(rec, clock)
    elif kind is RungKind.REMINDER_NOTICE:
        _reminder_notice(rec, clock)
    elif kind is RungKind.SUPERVISION_ORDER:
        _ladder_order(rec, clock)
    elif kind is RungKind.CIRCULAR:
        _climb(rec, clock, kind, SupervisionLevel.CIRCULAR, LADDER_PUSHES[kind])
    elif kind is RungKind.ADMONITORY_TALK:
        _climb(rec, clock, kind, SupervisionLevel.ADMONITORY_TALK, LADDER_PUSHES[kind])


def _due(clock: CaseClock) -> str:
    return clock.sla.due_at.isoformat() if clock.sla.due_at else "unknown"


def _remind(rec: Recorder, clock: CaseClock, action: str, why: str) -> None:
    rec.push(clock.department, PushKind.REMINDER, {"rung": action, "step": clock.step.value, "due_at": _due(clock)})
    rec.record(SYSTEM, action, note=f"{clock.department}: {clock.step.value} — {why}, due {_due(clock)}")


def _breach(rec: Recorder, clock: CaseClock) -> None:
    level, reason = BREACH_CARDS[clock.step]
    if clock.step is ClockStep.PROGRESS_REPORT:
        rec.state.report_overdue = True
    supervision.card(rec, clock.department, level, reason, clock)


def _reminder_notice(rec: Recorder, clock: CaseClock) -> None:
    """催辦: a reminder notice the next working day; an overdue signature also goes up to the coordinator."""
    rec.raise_level(SupervisionLevel.REMINDER_NOTICE)
    rec.escalate(clock.department, RungKind.REMINDER_NOTICE)
    _remind(rec, clock, "reminder_notice", "overdue since the deadline")
    if clock.step is ClockStep.SIGN and clock.subject is not None:
        for assignment in rec.state.assignments:
            if assignment.assignment_id == clock.subject:
                assignment.sign_escalated = True
        coordinator = rec.state.registration.coordinator
        rec.push(coordinator, PushKind.REMINDER, {"rung": "sign_escalated", "department": clock.department})
        rec.record(SYSTEM, "sign_escalated", note=f"{clock.department} has not signed; the coordinator may force-sign")


def _ladder_order(rec: Recorder, clock: CaseClock) -> None:
    """督辦: one open order per department is enough; a later breach only raises the level."""
    rec.raise_level(SupervisionLevel.SUPERVISION_ORDER)
    if clock.step is ClockStep.SUPERVISION_ORDER:
        return
    rec.escalate(clock.department, RungKind.SUPERVISION_ORDER)
    if any(order.open and order.department == clock.department for order in rec.state.orders):
        return
    if len(rec.state.orders) >= rec.state.registration.policy.max_supervision_orders:
        rec.record(SYSTEM, "order_not_issued", note=f"{clock.department}: the case holds the most orders it may")
        return
    supervision.issue(
        rec,
        clock.department,
        basis=f"escalation ladder: {clock.step.value} overdue since {_due(clock)}",
        content=f"Complete the overdue {clock.step.value.replace('_', ' ')} and answer this order.",
        limit=rec.state.registration.policy.ladder_order_limit,
        issued_by=None,
    )


def _climb(rec: Recorder, clock: CaseClock, rung: RungKind, level: SupervisionLevel, kind: PushKind) -> None:
    rec.raise_level(level)
    rec.escalate(clock.department, rung)
    rec.push(clock.department, kind, {"rung": level.value, "step": clock.step.value, "due_at": _due(clock)})
    rec.record(SYSTEM, level.value, note=f"{clock.department}: {clock.step.value} overdue since {_due(clock)}")
