"""One verification call: the verify activity under the VERIFICATION policy, and `unavailable` once it gives up.

Its workflow id holds the asking department and its call id, so the same call asked again is answered from this
run's result, never sent twice.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.verify.calls import VerificationActivities
    from schemas.names import VERIFICATION_WORKFLOW
    from schemas.verification import VerificationOutcome, VerificationRequest, VerificationResult
    from workflows import policies


def verification_workflow_id(asking_department: str, call_id: str) -> str:
    return f"verification-{asking_department}-{call_id}"


@workflow.defn(name=VERIFICATION_WORKFLOW)
class VerificationWorkflow:
    @workflow.run
    async def run(self, request: VerificationRequest) -> VerificationResult:
        try:
            return await workflow.execute_activity_method(
                VerificationActivities.verify, request, **policies.VERIFICATION
            )
        except ActivityError as error:
            return unavailable(request, error)


def unavailable(request: VerificationRequest, error: ActivityError) -> VerificationResult:
    """The result of a call the verify activity gave up on (the policy's attempts spent)."""
    cause = error.cause
    detail = str(cause) if cause is not None else str(error)
    return VerificationResult(
        call_id=request.call_id,
        item_code=request.item_code,
        asking_department=request.asking_department,
        purpose=request.purpose,
        answering_department="-",
        system="-",
        outcome=VerificationOutcome.UNAVAILABLE,
        detail=detail[:500],
    )
