"""What the hand-off's rules need from outside before they apply, for its shell: the legal clock's deadlines and
rung schedules, the registry's receiver for a reroute, and the admission of a feedback's findings. Each is asked
again after a pause while the store is down, never given up; a refusal is raised. The answers are turned into
rules by `machine` (`named_receiver`, `next_receiver`, `findings_as_events`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.case.activities import CaseActivities
    from activities.clock.activities import ClockActivities
    from activities.handoff.admission import HandoffIntakeActivities
    from activities.registry.lookups import RegistryActivities
    from schemas.case.records import ClockPlan, ClockPlanRequest
    from schemas.clock import ClockSpec, RungSchedule, RungScheduleRequest
    from schemas.handoff import Admission, EventReport, HandoffStart, HandoffState, Reroute, SendFeedback
    from schemas.registry import DepartmentQuery, HandoffRouteQuery
    from workflows import policies
    from workflows.handoff import machine
    from workflows.handoff.writes import lean

_T = TypeVar("_T")
# How a failed lookup arrives: a local activity's refusal (LEAN_PATCH) may come as the ApplicationError itself.
LookupFailure = (ActivityError, ApplicationError)


async def answered(start: HandoffStart, ask: Callable[[], Awaitable[_T]], what: str) -> _T:
    """A lookup or computation the hand-off cannot go on without (the legal clock and the registry read the store):
    asked again after a pause while the store is down, never given up; a refusal is raised."""
    policy = start.policy
    pause = policy.store_retry
    while True:
        try:
            return await ask()
        except LookupFailure as error:
            failure = error.cause if isinstance(error, ActivityError) else error
            if isinstance(failure, ApplicationError) and failure.non_retryable:
                raise
            workflow.logger.warning("%s unavailable, asked again in %s: %s", what, pause, failure or error)
        await workflow.sleep(pause, summary=f"{what} asked again")
        pause = min(pause * 2, policy.store_retry_longest)


async def deadline(start: HandoffStart, spec: ClockSpec) -> datetime:
    if lean():
        due = await answered(
            start,
            lambda: workflow.execute_local_activity_method(
                ClockActivities.compute_deadline, spec, **policies.COMPUTE_LOCAL
            ),
            "legal clock",
        )
    else:
        due = await answered(
            start,
            lambda: workflow.execute_activity_method(ClockActivities.compute_deadline, spec, **policies.COMPUTE),
            "legal clock",
        )
    return due.due_at


async def schedule(start: HandoffStart, request: RungScheduleRequest) -> RungSchedule:
    if lean():
        return await answered(
            start,
            lambda: workflow.execute_local_activity_method(
                ClockActivities.schedule_rungs, request, **policies.COMPUTE_LOCAL
            ),
            "legal clock",
        )
    return await answered(
        start,
        lambda: workflow.execute_activity_method(ClockActivities.schedule_rungs, request, **policies.COMPUTE),
        "legal clock",
    )


async def plan(start: HandoffStart, request: ClockPlanRequest) -> ClockPlan:
    """A lean run's (LEAN_PATCH) clocks of one transition: one local activity, one load of the calendar."""
    return await answered(
        start,
        lambda: workflow.execute_local_activity_method(CaseActivities.plan_clocks, request, **policies.COMPUTE_LOCAL),
        "legal clock",
    )


async def reroute_target(start: HandoffStart, state: HandoffState, command: Reroute) -> str:
    """The named department if the registry knows it, else the next one the function catalogue names."""
    if command.department_code is not None:
        query = DepartmentQuery(code=command.department_code)
        try:
            department = await answered(
                start,
                lambda: (
                    workflow.execute_local_activity_method(
                        RegistryActivities.get_department, query, **policies.STORE_LOCAL
                    )
                    if lean()
                    else workflow.execute_activity_method(RegistryActivities.get_department, query, **policies.STORE)
                ),
                "registry lookup",
            )
        except LookupFailure:
            department = None
        return machine.named_receiver(command.department_code, department)
    excluded = [*state.returned_by, start.event.source_department]
    route_query = HandoffRouteQuery(
        matter_code=start.matter.code, locality_code=start.event.locality_code, exclude=excluded
    )
    route = await answered(
        start,
        lambda: (
            workflow.execute_local_activity_method(
                RegistryActivities.resolve_handoff_receivers, route_query, **policies.STORE_LOCAL
            )
            if lean()
            else workflow.execute_activity_method(
                RegistryActivities.resolve_handoff_receivers, route_query, **policies.STORE
            )
        ),
        "registry lookup",
    )
    return machine.next_receiver(start, route)


async def admit_findings(start: HandoffStart, command: SendFeedback, update_id: str) -> list[EventReport]:
    """Each finding becomes an event of the receiver's, linked to this hand-off: a loop-2 hand-off back."""
    events = machine.findings_as_events(start, command)
    admission = Admission(admitted_by=f"{start.handoff_id}:{update_id}", events=events, as_of=workflow.now())
    result = await answered(
        start,
        lambda: workflow.execute_activity_method(HandoffIntakeActivities.admit_events, admission, **policies.ADMISSION),
        "admission of the findings",
    )
    return result.reports
