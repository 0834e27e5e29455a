"""Starting a case from a client of Temporal (the front door, tests): idempotent by the initiating system's case
number."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from caseloop.errors import InputRejected
from schemas import search_attributes as sa
from schemas.case.stages import CardColour, CaseStage, SupervisionLevel
from schemas.case.state import CASE_NUMBER_TAKEN, CaseRegistration, CaseWorkflowInput, legacy_case_id_of
from schemas.case.views import CaseView
from schemas.queues import DEFAULT_TASK_QUEUE
from workflows.case import presentation
from workflows.case.presentation import KIND, channel_values, registered_parties
from workflows.case.workflow import CaseWorkflow

# The case workflow's type name, as its histories carry it.
CASE_WORKFLOW = "Case"


def summary_of(registration: CaseRegistration) -> str:
    """The UI's one-line summary: codes only, never the title."""
    return presentation.summary(registration)


def start_attributes(registration: CaseRegistration) -> list[SearchAttributePair[Any]]:
    """What a case is found by from its start, before its first transition publishes the rest."""
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(sa.KIND, KIND),
        SearchAttributePair(sa.STAGE, CaseStage.REGISTERED.value),
        SearchAttributePair(sa.CARD_COLOUR, CardColour.NONE.value),
        SearchAttributePair(sa.MATTER, registration.matter_code),
        SearchAttributePair(sa.LOCALITY, registration.locality_code),
        SearchAttributePair(sa.PRIORITY, registration.priority.value),
        SearchAttributePair(sa.SUPERVISION_LEVEL, SupervisionLevel.NONE.value),
        SearchAttributePair(sa.PARTIES, registered_parties(registration)),
    ]
    if registration.channel is not None:
        pairs.append(SearchAttributePair(sa.CHANNEL, channel_values(registration)))
    return pairs


# The runs a launch finds instead of starting the case again; any other end lets the case number start anew.
_KEPT = (WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.CONTINUED_AS_NEW)


async def start_case(
    client: Client, registration: CaseRegistration, *, task_queue: str = DEFAULT_TASK_QUEUE
) -> WorkflowHandle[CaseWorkflow, CaseView]:
    """Starts the case, or finds the one already started under the same case number (running or finished): under
    its ID, or under the ID cases had before it (`legacy_case_id_of`). Raises `InputRejected` (case_number.taken)
    when the case found was registered with another matter, locality or title.

    The handle targets the case's latest run, so commands still reach it after it continued as new.
    """
    legacy = await legacy_case(client, registration.system, registration.case_number, kept_only=True)
    if legacy is not None:
        case_id, stored = legacy
        _same_case(registration, stored, case_id)
        return client.get_workflow_handle_for(CaseWorkflow.run, case_id)
    try:
        handle = await client.start_workflow(
            CaseWorkflow.run,
            CaseWorkflowInput(registration=registration),
            id=registration.case_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            # A finished case keeps its number: starting it again returns it rather than a second case. Only a
            # run that failed (the registry or the clock unreachable for longer than their retries) starts anew.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            search_attributes=TypedSearchAttributes(start_attributes(registration)),
            static_summary=summary_of(registration),
        )
    except WorkflowAlreadyStartedError:
        handle = client.get_workflow_handle_for(CaseWorkflow.run, registration.case_id)
    else:
        # USE_EXISTING hands back the running case without starting one; only then is there a registration to check.
        answer = getattr(handle, "_start_workflow_response", None)
        if answer is not None and answer.started:
            return handle
    existing = await registration_of(client, registration.case_id)
    if existing is not None:
        _same_case(registration, existing, registration.case_id)
    return handle


async def registration_of(client: Client, case_id: str) -> dict[str, Any] | None:
    """The registration the case's latest run was started with, as JSON, read from its history (no worker needed);
    None when no case has that ID."""
    handle = client.get_workflow_handle(case_id)
    try:
        async for event in handle.fetch_history_events(page_size=1):
            started = event.workflow_execution_started_event_attributes
            if started.workflow_type.name != CASE_WORKFLOW:
                return None
            # As JSON, not as the model: a registration the rules of its day took still compares.
            [start] = await client.data_converter.decode(list(started.input.payloads), [dict])
            registration = start.get("registration") if isinstance(start, dict) else None
            return registration if isinstance(registration, dict) else None
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return None
        raise
    return None


async def legacy_case(
    client: Client, system: str, case_number: str, *, kept_only: bool = False
) -> tuple[str, dict[str, Any]] | None:
    """The case launched under the ID cases had before (`case-<system>-<number>`) for this system's case number, with
    its registration; None when there is none. That ID may be another system's case (system A-B, number C against
    system A, number B-C): it counts only when its registration names this system and number. `kept_only` passes
    over a run that failed or was terminated, as a launch would start such a case number anew."""
    case_id = legacy_case_id_of(system, case_number)
    if kept_only:
        try:
            described = await client.get_workflow_handle(case_id).describe()
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:
                return None
            raise
        if described.status not in _KEPT:
            return None
    stored = await registration_of(client, case_id)
    if stored is None or (stored.get("system"), stored.get("case_number")) != (system, case_number):
        return None
    return case_id, stored


def _same_case(registration: CaseRegistration, stored: dict[str, Any], case_id: str) -> None:
    differing = registration.differing_field(stored)
    if differing is not None:
        raise InputRejected(
            f"case number {registration.case_number} of {registration.system} is registered already, as {case_id} "
            f"with another {differing.replace('_', ' ')}: launching it again must repeat its registration, and a "
            "new case needs a number of its own",
            rule=CASE_NUMBER_TAKEN,
            field="case_number",
        )
