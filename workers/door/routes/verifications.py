"""Verification calls (核驗): the caller's department asks another department's system about a shared data item.

Only for the items the registry grants the caller's department, which comes from its credential. The call runs as a
workflow named by the department and its Idempotency-Key, so a retried request answers the first call's result.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import structlog
from fastapi import APIRouter
from temporalio.client import WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.metrics import VERIFICATIONS
from activities.store.collaboration import CollaborationRepository, VerificationCall
from activities.store.ledger.idempotent import insert_once
from schemas.names import VERIFICATION_WORKFLOW
from schemas.verification import VerificationAsk, VerificationOutcome, VerificationRequest, VerificationResult
from workers.door.deps import CallerDep, DoorDep, KeyDep
from workers.door.problems import DoorProblem, Kind, forbidden, not_found
from workflows.verify.workflow import verification_workflow_id

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/v1/verifications", tags=["verifications"])

GRANT_RULE = "verification.grant"


@router.post("", response_model=VerificationResult, summary="Verify a fact in another department's system")
async def verify(parts: DoorDep, caller: CallerDep, key: KeyDep, body: VerificationAsk) -> VerificationResult:
    """Asks the item's answering system; answers its signed answer, or why there is none (refused, untrusted,
    unavailable). The store keeps who asked, why, and digests, never the question or the answer."""
    async with parts.sessions() as session:
        item = await CollaborationRepository(session).shared_item(body.item)
    if item is None or not item.active:
        raise not_found(f"shared data item {body.item}")
    call_id = key or uuid.uuid4().hex
    if caller.department not in item.grantees:
        # Recorded like any call, so an assessment sees who tried to look beyond its grant; nothing of the question.
        refusal = {
            "call_id": call_id,
            "attempt": 0,
            "item_code": item.code,
            "asking_department": caller.department,
            "answering_department": item.department_code,
            "system": item.system,
            "purpose_kind": body.purpose.kind.value,
            "purpose_id": body.purpose.id,
            "question_digest": "",
            "answer_digest": None,
            "outcome": VerificationOutcome.NOT_GRANTED.value,
            "status_code": None,
            "detail": "refused at the front door: no grant for this item",
            "called_at": datetime.now(UTC),
        }
        async with parts.sessions.begin() as session:
            await insert_once(session, VerificationCall, refusal, ["call_id", "asking_department", "attempt"])
        VERIFICATIONS.labels(item.code, item.system, VerificationOutcome.NOT_GRANTED.value).inc()
        log.warning("verification refused: no grant", item=item.code, purpose=body.purpose.kind.value)
        raise forbidden(
            f"{caller.department} holds no grant for shared data item {item.code}", rule=GRANT_RULE, field="item"
        )
    request = VerificationRequest(
        call_id=call_id,
        item_code=item.code,
        asking_department=caller.department,
        purpose=body.purpose,
        question=body.question,
    )
    client = parts.engine.temporal
    workflow_id = verification_workflow_id(caller.department, call_id)
    try:
        handle = await client.start_workflow(
            VERIFICATION_WORKFLOW,
            request,
            id=workflow_id,
            task_queue=parts.settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            result_type=VerificationResult,
            static_summary=f"Verification of {item.code} for {caller.department}",
        )
    except WorkflowAlreadyStartedError:
        handle = client.get_workflow_handle(workflow_id, result_type=VerificationResult)
    try:
        result = await asyncio.wait_for(handle.result(), timeout=parts.options.command_seconds)
    except TimeoutError:
        raise DoorProblem(Kind.TIMEOUT, "the answering system has not answered yet", command_id=call_id) from None
    except WorkflowFailureError:
        log.exception("verification workflow failed", item=item.code)
        raise DoorProblem(Kind.INTERNAL, command_id=call_id) from None
    if result.item_code != request.item_code or result.purpose != request.purpose:
        raise DoorProblem(
            Kind.IDEMPOTENCY_KEY_REUSED,
            "this Idempotency-Key asked another item or purpose",
            rule="idempotency.reused",
            command_id=call_id,
        )
    return result
