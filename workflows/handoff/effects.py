"""What a hand-off's transition asks the world for, in the order it asks: clocks to arm or stop, the return window
to count, the audit entry and the other store writes, notices to departments, escalations to count.

The rules (`machine`, `ladder`) change the state and fill an `Effects` through a `Change`; the workflow shell then
carries the steps out in their order and writes the transition's store writes in one call. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.actors import SYSTEM_ACTOR, Actor
    from schemas.clock import CardProfileName, ClockSpec, FiredRung, RungKind, RungScheduleRequest
    from schemas.delivery import Push, PushKind
    from schemas.handoff import (
        HandoffClock,
        HandoffOrder,
        HandoffStage,
        HandoffStart,
        HandoffState,
        IssuedCard,
        SlaColour,
        StoreWrite,
        clock_unit,
    )
    from schemas.ledger import CardLevel, CardReason, SupervisionOrderStatus
    from schemas.orders import Escalation
    from schemas.registry import Limit, MatterStep
    from workflows.handoff import records
    from workflows.handoff.records import Transition


@dataclass(frozen=True)
class Arm:
    """Count the clock's rungs from `request` and arm them. A `gated` clock (push, act, supervision order) is armed
    only on runs from the shell's CLOCKS_PATCH on, which the shell asks when it carries the step out."""

    clock: HandoffClock
    request: RungScheduleRequest
    gated: bool = False


@dataclass(frozen=True)
class Window:
    """Count the return window's end, a deadline without timers, into `HandoffState.return_until`."""

    spec: ClockSpec


@dataclass(frozen=True)
class Stop:
    clock: HandoffClock


# A store write and a notice to a department are steps as they are: queued in their turn.
Step = Arm | Window | Stop | Transition | StoreWrite | Push


def counted(step: Step) -> bool:
    """A clock step the shell counts through the legal clock (several next to each other at once)."""
    return isinstance(step, Arm | Window)


def clock_step(step: Step) -> bool:
    return isinstance(step, Arm | Window | Stop)


def clocks_ahead(steps: list[Step]) -> int:
    """How many steps lead up to the last clock counted: their clock steps are carried out before the state moves."""
    return max((index + 1 for index, step in enumerate(steps) if counted(step)), default=0)


@dataclass
class Effects:
    steps: list[Step] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)
    order_to: str | None = None  # a supervision order is owed to this department: its deadline, then `issue_order`


class Change:
    """Changes one hand-off at one instant and writes down its effects; every id it hands out is deterministic."""

    def __init__(self, start: HandoffStart, state: HandoffState, now: datetime) -> None:
        self.start = start
        self.state = state
        self.now = now
        self.effects = Effects()

    def limit(self, step: MatterStep) -> Limit:
        limit = self.start.limit(step)
        assert limit is not None  # every step the rules ask for has a default
        return limit

    def spec(self, started_at: datetime, limit: Limit) -> ClockSpec:
        return clock_spec(self.start, started_at, limit)

    def record(self, actor: Actor, action: str, stage: HandoffStage | None = None, reason: str | None = None) -> None:
        """One audit entry; with `stage`, the hand-off moves there."""
        state = self.state
        before = state.stage
        if stage is not None:
            state.stage = stage
        state.audit_seq += 1
        self.effects.steps.append(Transition(state.audit_seq, actor, action, before, state.stage, reason, self.now))

    def write(self, write: StoreWrite) -> None:
        self.effects.steps.append(write)

    def notify(self, department: str, kind: PushKind, what: str, body: dict[str, Any]) -> None:
        """A notice; its id is unique within the hand-off, so a redelivery is recognised by the department."""
        start = self.start
        identity = {"handoff_id": start.handoff_id, "thread_id": start.thread_id}
        push_id = f"{start.handoff_id}:{what}:{self.state.audit_seq}"
        self.effects.steps.append(
            Push.about(
                start.handoff_id, identity, push_id=push_id, department=department, kind=kind, at=self.now, body=body
            )
        )

    def arm(self, clock: HandoffClock, started_at: datetime, limit: Limit, *, gated: bool = False) -> None:
        request = RungScheduleRequest(clock=self.spec(started_at, limit), profile=profile(self.start))
        self.effects.steps.append(Arm(clock, request, gated))

    def arm_matter(self, clock: HandoffClock, step: MatterStep, started_at: datetime) -> None:
        """A clock of a limit the matter may name (push, act): none when it names none."""
        limit = self.start.matter.limits.get(step)
        if limit is not None:
            self.arm(clock, started_at, limit, gated=True)

    def window(self, started_at: datetime, limit: Limit) -> None:
        self.effects.steps.append(Window(self.spec(started_at, limit)))

    def stop(self, *clocks: HandoffClock) -> None:
        self.effects.steps.extend(Stop(clock) for clock in clocks)

    def escalate(self, department: str, rung: RungKind) -> None:
        self.effects.escalations.append(Escalation(department=department, rung=rung))

    def card(
        self, level: CardLevel, department: str, reason: CardReason, step: str, due_at: datetime, version: int
    ) -> None:
        """One card per step, deadline and level; the SLA colour deepens with it, and the department is told."""
        start, state, now = self.start, self.state, self.now
        card_id = records.card_id(start, step, version, level)
        self.write(records.card(start, card_id, level, department, reason, step, due_at, now))
        state.cards.append(
            IssuedCard(card_id=card_id, level=level, department=department, step=step, issued_at=now, reason=reason)
        )
        state.colour = deeper(state.colour, SlaColour(level.value))
        self.record(SYSTEM_ACTOR, f"{level.value}_card", None, f"{department}: {reason.value}")
        self.notify(
            department, PushKind.CARD, f"card-{step}-{level.value}", {"level": level.value, "reason": reason.value}
        )

    def settle_orders(self, status: SupervisionOrderStatus, reason: str) -> None:
        """Every open supervision order answered or lifted, each with its own audit entry."""
        self.stop(HandoffClock.SUPERVISION_ORDER)
        for order in self.state.supervision_orders:
            if order.status is SupervisionOrderStatus.LIFTED or order.status is status:
                continue
            order.status, order.seq = status, order.seq + 1
            if status is SupervisionOrderStatus.ANSWERED:
                order.answered_at = self.now
            else:
                order.lifted_at = self.now
            self.record_order(order, status.value, reason)

    def record_order(self, order: HandoffOrder, action: str, reason: str) -> None:
        self.write(records.order_transition(self.start, order, action, reason, self.now))

    def fired(self, clock: HandoffClock, fired: FiredRung) -> str:
        """How the trail names a fired rung."""
        return f"{clock.value} {fired.kind.value} (due {fired.due_at.isoformat()})"


# A transition's rules, as the shell applies them: a function that changes the state through a `Change`.
Rules = Callable[[Change], None]


def clock_spec(start: HandoffStart, started_at: datetime, limit: Limit) -> ClockSpec:
    """What the legal clock counts: `limit` from `started_at` in the calendar of the event's locality."""
    return ClockSpec(
        started_at=started_at,
        limit=float(limit.amount),
        unit=clock_unit(limit.unit),
        locality=start.event.locality_code,
    )


def deeper(current: SlaColour, new: SlaColour) -> SlaColour:
    """The SLA colour only deepens while the loop is open."""
    return new if new.rank > current.rank else current


def profile(start: HandoffStart) -> CardProfileName:
    """The matter's card profile; an unknown name falls back to the default rather than stopping the hand-off."""
    try:
        return CardProfileName(start.matter.card_profile)
    except ValueError:
        return CardProfileName.DEFAULT
