"""Starting a case from a client (the SDK, the CLI, tests): idempotent by the initiating system's case number.

Client-side code: workflows never import it.
"""

from __future__ import annotations

from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from schemas import search_attributes as sa
from schemas.case.stages import CardColour, CaseStage, SupervisionLevel
from schemas.case.state import CaseRegistration, CaseWorkflowInput
from schemas.case.views import CaseView
from schemas.queues import DEFAULT_TASK_QUEUE
from workflows.case.presentation import KIND, registered_parties
from workflows.case.workflow import CaseWorkflow


def summary_of(registration: CaseRegistration) -> str:
    """The UI's one-line summary: codes only, never the title."""
    return (
        f"case {registration.case_number} from {registration.system} · matter {registration.matter_code}"
        f" · locality {registration.locality_code} · {registration.priority.value}"
    )


async def start_case(
    client: Client, registration: CaseRegistration, *, task_queue: str = DEFAULT_TASK_QUEUE
) -> WorkflowHandle[CaseWorkflow, CaseView]:
    """Starts the case, or finds the one already started under the same case number (running or finished).

    The handle targets the case's latest run, so commands still reach it after it continued as new.
    """
    try:
        return await client.start_workflow(
            CaseWorkflow.run,
            CaseWorkflowInput(registration=registration),
            id=registration.case_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            # A finished case keeps its number: starting it again returns it rather than a second case. Only a
            # run that failed (the registry or the clock unreachable for longer than their retries) starts anew.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.KIND, KIND),
                    SearchAttributePair(sa.STAGE, CaseStage.REGISTERED.value),
                    SearchAttributePair(sa.CARD_COLOUR, CardColour.NONE.value),
                    SearchAttributePair(sa.MATTER, registration.matter_code),
                    SearchAttributePair(sa.LOCALITY, registration.locality_code),
                    SearchAttributePair(sa.PRIORITY, registration.priority.value),
                    SearchAttributePair(sa.SUPERVISION_LEVEL, SupervisionLevel.NONE.value),
                    SearchAttributePair(sa.PARTIES, registered_parties(registration)),
                ]
            ),
            static_summary=summary_of(registration),
        )
    except WorkflowAlreadyStartedError:
        return client.get_workflow_handle_for(CaseWorkflow.run, registration.case_id)
