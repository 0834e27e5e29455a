"""What each fired rung of a step's clock does: reminders, cards and the escalation ladder (DESIGN.md §4).

- the coordinator's own steps (accept, rulings, decisions, review, follow-up) earn a reminder at the deadline;
- a party's step: a reminder at 50 %, a card at the deadline (yellow for sign, commit and progress reports,
  red for the committed deadline and a supervision order), then the ladder: a reminder notice (for a
  signature also an escalation to the coordinator, who may then force-sign), a supervision order, a circular
  and an admonitory talk (each of the last two also a score event against the department), and, where the registry
  names it, a report to the city leaders' joint meeting;
- colour rungs (blue, yellow, orange) only change the computed SLA colour.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.case.stages import ClockStep, SupervisionLevel
    from schemas.case.state import CaseClock
    from schemas.clock import RungKind
    from schemas.delivery import PushKind
    from schemas.ledger import CardLevel, CardReason, ScoreKind
    from schemas.orders import LADDER_PUSHES
    from workflows.case import channel_deadline, meetings, rules, supervision
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


# The rungs that count against the department in its assessment, besides the cards.
SCORED_RUNGS: dict[RungKind, ScoreKind] = {
    RungKind.CIRCULAR: ScoreKind.CIRCULAR,
    RungKind.ADMONITORY_TALK: ScoreKind.ADMONITORY_TALK,
}


def climbs_to_the_top(kind: RungKind) -> bool:
    """A rung that scores, or may report the case to the leaders: cases that began before either replay without."""
    return LADDER_EQUIVALENT.get(kind, kind) in SCORED_RUNGS


def on_rung(rec: Recorder, clock: CaseClock, kind: RungKind, *, full_ladder: bool = False) -> None:
    """`full_ladder`: the circular and the admonitory talk score, and the leaders' rung follows the talk."""
    clock.colour = rules.clock_colour(clock)
    kind = LADDER_EQUIVALENT.get(kind, kind)
    if clock.step is ClockStep.LEADERS_RUNG:
        if kind is RungKind.RED:
            _to_the_leaders(rec, clock)
        return
    if clock.step is ClockStep.CHANNEL_DEADLINE:
        channel_deadline.on_rung(rec, clock, kind)
        return
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
        if full_ladder:
            _arm_leaders_rung(rec, clock)
    if full_ladder and kind in SCORED_RUNGS:
        rec.score(clock.department, SCORED_RUNGS[kind], f"{kind.value}: {clock.step.value} overdue since {_due(clock)}")


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


def leaders_rung_key(clock: CaseClock) -> str:
    return f"{ClockStep.LEADERS_RUNG.value}:{clock.key}"


def _arm_leaders_rung(rec: Recorder, clock: CaseClock) -> None:
    """Where the registry names the leaders' rung, it follows the admonitory talk after its own time: a clock on the
    legal calendar watching the overdue step."""
    state = rec.state
    rung = state.parties.leaders_rung if state.parties else None
    if rung is None:
        return
    after = rung.after or state.registration.policy.leaders_rung_after
    rec.start_clock(leaders_rung_key(clock), ClockStep.LEADERS_RUNG, clock.department, after, subject=clock.key)


def _to_the_leaders(rec: Recorder, rung_clock: CaseClock) -> None:
    """市領導會辦: the last rung. The step it watches must still be overdue; one open meeting at a time is enough."""
    state = rec.state
    rec.end_clock(rung_clock.key)
    watched = state.clocks.get(rung_clock.subject or "")
    rung = state.parties.leaders_rung if state.parties else None
    due = watched.sla.due_at if watched is not None else None
    if rung is None or watched is None or not rules.running(watched) or due is None or due > rec.now:
        rec.record(SYSTEM, "leaders_rung_withdrawn", note=f"{rung_clock.department}: the step is no longer overdue")
        return
    if meetings.open_meeting(state) is not None:
        return
    if len(state.meetings) >= state.registration.policy.max_joint_meetings:
        note = f"{rung_clock.department}: the case holds the most meetings it may"
        rec.record(SYSTEM, "meeting_not_requested", note=note)
        return
    meetings.request(
        rec,
        basis=f"escalation ladder ({rung.scope}): {watched.step.value} of {watched.department} overdue since "
        f"{_due(watched)}, after the admonitory talk",
        departments=list(dict.fromkeys([watched.department, *meetings.involved(state)])),
        limit=rung.limit or state.registration.policy.joint_meeting_limit,
        requested_by=None,
    )
