"""A small registry as the case sees it: one case matter, a lead department, a locality, a co-unit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from schemas.case.state import CaseRegistration, CaseState
from schemas.clock import ClockUnit
from schemas.registry import (
    CaseParties,
    ClaimMode,
    DeliveryChannel,
    DepartmentInfo,
    DepartmentLevel,
    Limit,
    MatterInfo,
    MatterKind,
    MatterStep,
    TriggerEvent,
)
from workflows.case import machine
from workflows.case.effects import Effects

COORDINATOR = "SQ-CENTRE"
SUPERVISOR = "SQ-DUBAN"
LEAD = "SQ-HOUSING"
LOCALITY = "SQ-SUYU"
CO_UNIT = "SQ-MARKET"
OTHER = "SQ-WATER"
SYSTEM_CODE = "hotline"


def department(code: str, *, locality: bool = False) -> DepartmentInfo:
    return DepartmentInfo(
        code=code,
        name=code,
        level=DepartmentLevel.DISTRICT if locality else DepartmentLevel.CITY,
        parent_code=None,
        is_locality=locality,
        locality_code=code if locality else None,
        delivery=DeliveryChannel.INBOX,
        active=True,
    )


def matter(**changes: object) -> MatterInfo:
    values: dict[str, object] = {
        "code": "M-PERMIT",
        "name": "construction permit problem",
        "kind": MatterKind.CASE,
        "direction": None,
        "theme": None,
        "trigger": TriggerEvent.ISSUE_RAISED,
        "trigger_item": None,
        "target_item": None,
        "claim_mode": ClaimMode.EXPLICIT,
        "card_profile": "default",
        "limits": {MatterStep.PROGRESS_REPORT: Limit(amount=Decimal(30), unit=ClockUnit.WORKING_DAYS)},
        "statutory_limit": Limit(amount=Decimal(20), unit=ClockUnit.WORKING_DAYS),
        "extension_cap": Limit(amount=Decimal(10), unit=ClockUnit.WORKING_DAYS),
        "max_extensions": 1,
        "initiators": [],
        "lead": LEAD,
        "collaborators": [],
        "active": True,
    }
    values.update(changes)
    return MatterInfo.model_validate(values)


def parties(**matter_changes: object) -> CaseParties:
    return CaseParties(
        matter=matter(**matter_changes),
        lead=department(LEAD),
        locality=department(LOCALITY, locality=True),
        co_units=[],
    )


def registration(**changes: object) -> CaseRegistration:
    values: dict[str, object] = {
        "system": SYSTEM_CODE,
        "case_number": "2026-0001",
        "matter_code": "M-PERMIT",
        "locality_code": LOCALITY,
        "title": "permit stuck at the fire review",
        "coordinator": COORDINATOR,
        "supervisors": [SUPERVISOR],
    }
    values.update(changes)
    return CaseRegistration.model_validate(values)


START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai


def new_case(**changes: object) -> CaseState:
    reg = registration(**changes)
    state = CaseState(case_id=reg.case_id, registration=reg, registered_at=START)
    settle(state, machine.register(state, parties()))
    return state


def settle(state: CaseState, effects: Effects) -> Effects:
    """Stands in for the workflow's clock work: a limit of n units is due n days after its start."""
    for key in effects.clock_ends:
        machine.untrack(state, key)
    for start in effects.clock_starts:
        clock = machine.track(state, start, start.spec, estimated=False)
        clock.sla.due_at = start.spec.started_at + timedelta(days=start.spec.limit)
        clock.sla.stopped = clock.sla.suspended = False
        machine.set_due(state, start.key, clock.sla.due_at)
    for key in effects.clock_suspends:
        state.clocks[key].sla.suspended = True
    for key, pause in effects.clock_resumes.items():
        clock = state.clocks[key]
        assert clock.sla.due_at is not None
        clock.sla.due_at += pause.ended_at - pause.started_at
        clock.sla.suspended = False
        machine.set_due(state, key, clock.sla.due_at)
    for key, amount in effects.clock_extensions.items():
        clock = state.clocks[key]
        assert clock.sla.due_at is not None
        clock.sla.due_at += timedelta(days=amount)
        machine.set_due(state, key, clock.sla.due_at)
    for window in effects.windows:
        machine.set_window(state, window.target, window.spec.started_at + timedelta(days=window.spec.limit))
    return effects
