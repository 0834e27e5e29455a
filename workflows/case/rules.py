"""The case's rules as pure checks: who may act, in which stage, with which reason and values.

Each check raises `Rejected` naming the rule and the field; the update validators call them before anything is
recorded, and the handlers call them again under the lock. Nothing here touches Temporal or the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.case.commands import Actor, CaseCommand
    from schemas.case.stages import (
        AssignmentStatus,
        CaseStage,
        ClockStep,
        PartyKind,
        Role,
        SlaColour,
    )
    from schemas.case.state import Assignment, CaseClock, CaseState, SupervisionOrder
    from schemas.clock import RungKind, RungStatus
    from schemas.registry import Limit, LimitUnit, MatterStep
    from schemas.rejections import Rejected as Rejected


# Stages in which the parties exist (the case has been launched) and the case is still open.
LAUNCHED_AND_OPEN = frozenset(
    {
        CaseStage.LAUNCHED,
        CaseStage.AWAITING_COMMITMENT,
        CaseStage.IN_PROGRESS,
        CaseStage.SUSPENDED,
        CaseStage.EXTENSION_PENDING,
        CaseStage.CLOSURE_SUBMITTED,
        CaseStage.REOPENED,
    }
)


def require_stage(state: CaseState, command: str, allowed: Iterable[CaseStage]) -> None:
    allowed = frozenset(allowed)
    if state.stage not in allowed:
        names = ", ".join(sorted(stage.value for stage in allowed))
        raise Rejected("stage", "stage", f"{command} is not allowed in stage {state.stage.value} (allowed in: {names})")


def require_reason(command: CaseCommand, name: str, why: str) -> str:
    if command.reason is None or not command.reason.strip():
        raise Rejected("reason.required", "reason", f"{name} needs a reason: {why}")
    return command.reason.strip()


def require_not_system(actor: Actor) -> None:
    if actor.role is Role.SYSTEM:
        raise Rejected("actor.role", "actor.role", "the system role is reserved for the case's own timers")


def require_role(actor: Actor, command: str, roles: Iterable[Role]) -> None:
    roles = tuple(roles)
    if actor.role not in roles:
        names = " or ".join(role.value for role in roles)
        raise Rejected("actor.role", "actor.role", f"{command} is for the {names}, not the {actor.role.value}")


def require_coordinator(state: CaseState, actor: Actor, command: str) -> None:
    require_role(actor, command, (Role.COORDINATOR,))
    if actor.department != state.registration.coordinator:
        raise Rejected(
            "actor.department",
            "actor.department",
            f"{actor.department} is not this case's coordinator ({state.registration.coordinator})",
        )


def require_supervisor(state: CaseState, actor: Actor, command: str) -> None:
    require_role(actor, command, (Role.SUPERVISOR,))
    if actor.department not in state.registration.supervisors:
        raise Rejected("actor.department", "actor.department", f"{actor.department} is not a supervisor of this case")


def require_requester_or_coordinator(state: CaseState, actor: Actor, command: str) -> None:
    """The requester speaks through the initiating system; the coordinator may act for the requester."""
    require_role(actor, command, (Role.REQUESTER, Role.COORDINATOR))
    if actor.role is Role.COORDINATOR:
        require_coordinator(state, actor, command)
    elif actor.department != state.registration.system:
        raise Rejected(
            "actor.department",
            "actor.department",
            f"the requester speaks through the initiating system {state.registration.system}, not {actor.department}",
        )


def party_assignment(state: CaseState, actor: Actor, command: str, parties: Iterable[PartyKind]) -> Assignment:
    """The actor's own active assignment, in one of the parties allowed to send `command`."""
    parties = tuple(parties)
    require_role(actor, command, (party.role for party in parties))
    for assignment in state.assignments:
        if assignment.active and assignment.department == actor.department and assignment.party.role is actor.role:
            return assignment
    raise Rejected(
        "actor.department",
        "actor.department",
        f"{actor.department} holds no {actor.role.value} assignment on this case",
    )


def assignment_of(state: CaseState, department: str, field: str) -> Assignment:
    for assignment in state.assignments:
        if assignment.active and assignment.department == department:
            return assignment
    raise Rejected("assignment.unknown", field, f"{department} holds no assignment on this case")


def require_assignment_status(assignment: Assignment, command: str, allowed: Iterable[AssignmentStatus]) -> None:
    allowed = tuple(allowed)
    if assignment.status not in allowed:
        names = " or ".join(status.value for status in allowed)
        raise Rejected(
            "assignment.status",
            "department",
            f"{command}: the assignment of {assignment.department} is {assignment.status.value}, not {names}",
        )


def order_of(state: CaseState, order_id: str) -> SupervisionOrder:
    for order in state.orders:
        if order.order_id == order_id:
            return order
    raise Rejected("order.unknown", "order_id", f"this case has no supervision order {order_id}")


def lead_of(state: CaseState) -> Assignment:
    for assignment in state.assignments:
        if assignment.active and assignment.party is PartyKind.LEAD:
            return assignment
    raise Rejected("assignment.unknown", None, "the case has no lead department yet")


def lead_department(state: CaseState) -> str | None:
    leads = [a.department for a in state.assignments if a.active and a.party is PartyKind.LEAD]
    if leads:
        return leads[0]
    return state.parties.lead.code if state.parties else None


def known_actor(state: CaseState, actor: Actor) -> bool:
    """Anyone with a part in the case: its coordinator, supervisors, parties, and the initiating system."""
    registration = state.registration
    if actor.role is Role.COORDINATOR:
        return actor.department == registration.coordinator
    if actor.role is Role.SUPERVISOR:
        return actor.department in registration.supervisors
    if actor.role in (Role.REQUESTER, Role.INITIATOR):
        return actor.department == registration.system
    return any(a.active and a.department == actor.department and a.party.role is actor.role for a in state.assignments)


def limit_of(state: CaseState, step: MatterStep) -> Limit:
    """The matter's own limit for the step, else the case policy's."""
    matter = state.matter
    if matter is not None and step in matter.limits:
        return matter.limits[step]
    return state.registration.policy.step_limits[step]


def check_limit(state: CaseState, limit: Limit, field: str) -> None:
    """A limit a command names: whole days for day units, and no longer than the policy's longest in its unit."""
    if limit.unit.counts_days and not float(limit.amount).is_integer():
        raise Rejected("limit.whole-days", field, f"a {limit.unit.value} limit is a whole number, not {limit.amount}")
    check_length(state, limit.amount, limit.unit, field)


def check_length(state: CaseState, amount: Decimal | float, unit: LimitUnit, field: str, what: str = "") -> None:
    """Refuses `amount` of `unit` beyond the policy's `limit_max`: the legal clock would count for decades."""
    most = state.registration.policy.longest(unit)
    if Decimal(str(amount)) > most:
        said = what or f"{Decimal(str(amount)).normalize():f} {unit.value}"
        raise Rejected("limit.max", field, f"{said} exceeds the longest limit a case accepts ({most:f} {unit.value})")


def statutory_check(state: CaseState, limit: Limit, field: str) -> None:
    """A committed or imposed limit may not exceed the matter's statutory limit (both count from receipt)."""
    check_limit(state, limit, field)
    matter = state.matter
    statutory = matter.statutory_limit if matter else None
    if statutory is None:
        return
    if limit.unit is not statutory.unit:
        raise Rejected(
            "commitment.unit", field, f"the limit must be counted in {statutory.unit.value}, as the statutory limit is"
        )
    if limit.amount > statutory.amount:
        raise Rejected(
            "commitment.statutory-limit",
            field,
            f"{limit} exceeds the matter's statutory limit of {statutory}",
        )


def is_supervised(state: CaseState) -> bool:
    return any(order.open for order in state.orders)


def progress_limit(state: CaseState) -> Limit:
    if is_supervised(state):
        return state.registration.policy.supervised_progress_report
    return limit_of(state, MatterStep.PROGRESS_REPORT)


# The colour each rung kind leaves behind once it has fired; the ladder's rungs come after red.
RUNG_COLOUR: dict[RungKind, SlaColour] = {
    RungKind.REMINDER: SlaColour.GREEN,
    RungKind.BLUE: SlaColour.BLUE,
    RungKind.YELLOW: SlaColour.YELLOW,
    RungKind.ORANGE: SlaColour.ORANGE,
    RungKind.RED: SlaColour.RED,
    RungKind.DEEMED_APPROVAL: SlaColour.RED,
    RungKind.REMINDER_NOTICE: SlaColour.RED,
    RungKind.SUPERVISION_ORDER: SlaColour.RED,
    RungKind.CIRCULAR: SlaColour.RED,
    RungKind.ADMONITORY_TALK: SlaColour.RED,
    RungKind.ESCALATION_1: SlaColour.YELLOW,
    RungKind.ESCALATION_2: SlaColour.ORANGE,
    RungKind.ESCALATION_3: SlaColour.RED,
}


def clock_colour(clock: CaseClock) -> SlaColour:
    passed = [rung for rung in clock.sla.rungs if rung.status is not RungStatus.PENDING]
    return max((RUNG_COLOUR[rung.kind] for rung in passed), key=lambda colour: colour.rank, default=SlaColour.GREEN)


def running(clock: CaseClock) -> bool:
    return not clock.sla.stopped and not clock.sla.suspended and clock.sla.due_at is not None


def sla_colour(state: CaseState) -> SlaColour:
    return max(
        (clock.colour for clock in state.clocks.values() if running(clock)),
        key=lambda colour: colour.rank,
        default=SlaColour.GREEN,
    )


def next_due(state: CaseState) -> tuple[datetime, ClockStep] | None:
    """The earliest deadline still ahead of, or missed by, a running clock."""
    due = [(clock.sla.due_at, clock.step) for clock in state.clocks.values() if clock.sla.due_at and running(clock)]
    return min(due, key=lambda pair: pair[0]) if due else None
