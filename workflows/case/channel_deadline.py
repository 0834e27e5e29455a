"""The channel's own deadline (a 12345 work order's 辦理時限): a clock the case is timed against beside its legal ones.

The hotline sets an instant, not a limit on the legal calendar, so its rungs are plain arithmetic on that instant
and the rules compute them (no calendar, nothing to replay differently). When the policy's share of the time from
receipt to the deadline is left, the lead department and the channel's system are warned; at the deadline the lead
department gets a yellow card, the coordinator and the channel's system are told, and the clock ends. It ends
without a word as soon as the case answers: a closing report submitted, or the case ended. Nothing here does I/O.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.case.stages import CaseStage, ClockStep
    from schemas.case.state import CaseClock, CaseState
    from schemas.clock import ClockSpec, ClockUnit, Deadline, Rung, RungKind, RungSchedule, shanghai
    from schemas.delivery import PushKind
    from schemas.ledger import CardLevel, CardReason
    from workflows.case import rules, supervision
    from workflows.case.effects import SYSTEM, ClockStart, Effects, Recorder, profile_of

# Cases that began before a channel's deadline armed a clock replay as they ran; the marker is written only for a
# case whose channel carries a deadline.
PATCH = "case-times-the-channel-deadline"
KEY = ClockStep.CHANNEL_DEADLINE.value
# The case has answered the channel (or ended): its deadline no longer matters.
ANSWERED = frozenset({CaseStage.CLOSURE_SUBMITTED, CaseStage.CLOSED, CaseStage.REJECTED, CaseStage.TERMINATED})
SHORTEST = timedelta(seconds=1)  # a deadline at or before receipt: a limit of a second, its rung due at once


def applies(state: CaseState) -> bool:
    channel = state.registration.channel
    return channel is not None and channel.deadline is not None


def schedule(state: CaseState, now: datetime) -> RungSchedule:
    """The deadline as the channel set it: a warning rung (yellow) when the policy's share is left, unless that has
    passed by `now` (a late record hears of its missed deadline only), and red at it."""
    channel = state.registration.channel
    assert channel is not None and channel.deadline is not None
    due = shanghai(channel.deadline)
    span = max(due - state.registered_at, SHORTEST)
    spec = ClockSpec(started_at=state.registered_at, limit=span / timedelta(hours=1), unit=ClockUnit.NATURAL_HOURS)
    share = state.registration.policy.channel_deadline_warning
    rungs = []
    warning = due - span * share
    if due > state.registered_at and warning > now:
        rungs.append(Rung(kind=RungKind.YELLOW, at=warning, rule=f"{share:.0%} of the time to the deadline left"))
    rungs.append(Rung(kind=RungKind.RED, at=due, rule="the channel's own deadline"))
    deadline = Deadline(
        clock=spec,
        due_at=due,
        last_day=due.date(),
        estimated=False,
        explanation=[f"channel {channel.code} set the deadline of record {channel.reference}: {due.isoformat()}"],
    )
    return RungSchedule(profile=profile_of(state), deadline=deadline, rungs=rungs)


def start(rec: Recorder, now: datetime) -> None:
    """At registration (`now`): the clock watches the lead department (the parties are resolved by then)."""
    state = rec.state
    lead = rules.lead_department(state)
    if not applies(state) or lead is None:
        return
    armed = schedule(state, now)
    rec.effects.clock_starts.append(
        ClockStart(
            key=KEY,
            step=ClockStep.CHANNEL_DEADLINE,
            department=lead,
            spec=armed.deadline.clock,
            schedule=armed,
        )
    )


def end_if_answered(state: CaseState, effects: Effects) -> None:
    """After any transition: a case that has answered (or ended) is no longer timed by its channel."""
    if KEY in state.clocks and state.stage in ANSWERED and KEY not in effects.clock_ends:
        effects.clock_starts = [start for start in effects.clock_starts if start.key != KEY]
        effects.clock_ends.append(KEY)


def on_rung(rec: Recorder, clock: CaseClock, kind: RungKind) -> None:
    """Warned and carded is the lead department as it stands when the rung fires (a reroute may have moved it)."""
    clock.department = rules.lead_department(rec.state) or clock.department
    if kind is RungKind.YELLOW:
        _warn(rec, clock)
    elif kind is RungKind.RED:
        _passed(rec, clock)


def _due(clock: CaseClock) -> str:
    return clock.sla.due_at.isoformat() if clock.sla.due_at else "unknown"


def _tell_channel(rec: Recorder, event: str, clock: CaseClock) -> None:
    channel = rec.state.registration.channel
    if channel is None or not channel.pushes:
        return
    body: dict[str, str | int | bool | None] = {
        "channel": channel.code,
        "reference": channel.reference,
        "event": event,
        "due_at": _due(clock),
    }
    rec.push(rec.state.registration.system, PushKind.CHANNEL_UPDATE, body)


def _warn(rec: Recorder, clock: CaseClock) -> None:
    rec.push(clock.department, PushKind.REMINDER, {"rung": "channel_deadline_near", "step": KEY, "due_at": _due(clock)})
    rec.record(SYSTEM, "channel_deadline_near", note=f"{clock.department}: the channel's deadline is {_due(clock)}")
    _tell_channel(rec, "deadline_near", clock)


def _passed(rec: Recorder, clock: CaseClock) -> None:
    coordinator = rec.state.registration.coordinator
    supervision.card(rec, clock.department, CardLevel.YELLOW, CardReason.STEP_OVERDUE, clock)
    rec.record(SYSTEM, "channel_deadline_passed", note=f"{clock.department}: unanswered at {_due(clock)}")
    rec.push(coordinator, PushKind.REMINDER, {"rung": "channel_deadline_passed", "step": KEY, "due_at": _due(clock)})
    _tell_channel(rec, "deadline_passed", clock)
    rec.end_clock(clock.key)
