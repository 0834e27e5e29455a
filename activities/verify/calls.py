"""The verify activity: asks another department's system a question of a shared data item, through the gateway.

The question goes out signed per Standard Webhooks (activities.gateway.signing) under the item's secret; the answer
must come back signed under the same secret, over the same id, within the timestamp tolerance, or nothing in it is
used. Temporal does the retrying (workflows.policies.VERIFICATION): this module only decides whether an answer is
final. Every attempt is recorded with who asked, why, and keyed digests of question and answer: an ID number has
too few possible values for a plain hash to hide it, so the digests are HMACs under the item's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from typing import NoReturn

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.gateway import responses
from activities.gateway.answers import answer_signed, read_answer
from activities.gateway.endpoints import EndpointRefused, EndpointUnresolved, resolve
from activities.gateway.outbound import OutboundActivities
from activities.gateway.signing import (
    UnusableSecret,
    signing_keys,
)
from activities.gateway.webhook_secrets import secret_env_name
from activities.metrics import VERIFICATIONS
from activities.store.collaboration import CollaborationRepository, SharedItemRow, VerificationCall
from activities.store.ledger.idempotent import insert_once
from schemas.verification import SharedItem, VerificationOutcome, VerificationRequest, VerificationResult

# Error types: VerificationFailed is retried by the policy; NotFound is not.
VERIFICATION_FAILED = "VerificationFailed"
VERIFICATION_MISCONFIGURED = "VerificationMisconfigured"
NOT_FOUND = "NotFound"


def shared_item(row: SharedItemRow) -> SharedItem:
    return SharedItem(
        code=row.code,
        name=row.name,
        department_code=row.department_code,
        system=row.system,
        endpoint_url=row.endpoint_url,
        secret_ref=row.secret_ref,
        timeout_seconds=row.timeout_seconds,
        grantees=list(row.grantees),
        active=row.active,
    )


def keyed_digest(key: bytes, content: bytes) -> str:
    return hmac.new(key, content, hashlib.sha256).hexdigest()


def wire_id(request: VerificationRequest) -> str:
    """The id the call travels under: the asking department's own call id, scoped to it."""
    return f"{request.asking_department}.{request.call_id}"


class VerificationActivities(OutboundActivities):
    @activity.defn(name="verify")
    async def verify(self, request: VerificationRequest) -> VerificationResult:
        async with self._sessions() as session:
            row = await CollaborationRepository(session).shared_item(request.item_code)
            item = None if row is None else shared_item(row)
        if item is None:
            raise ApplicationError(
                f"shared data item {request.item_code!r} does not exist in the registry",
                type=NOT_FOUND,
                non_retryable=True,
            )
        if not item.grants(request.asking_department):
            # Checked before the secret is read: a refusal keeps nothing of the question, not even its digest.
            refused = _Call(request, item, "")
            await self._record(refused, VerificationOutcome.NOT_GRANTED, detail="no grant for this item")
            return refused.result(VerificationOutcome.NOT_GRANTED, detail=f"{request.asking_department} holds no grant")
        keys = self._keys(item)
        question = json.dumps(request.question, sort_keys=True, ensure_ascii=False).encode()
        call = _Call(request, item, keyed_digest(keys[0], question))
        policy = self.policy
        try:
            destination = await resolve(item.endpoint_url, policy)
        except EndpointRefused as refused:
            detail = f"endpoint_url {refused.rule}"
            await self._record(call, VerificationOutcome.UNAVAILABLE, detail=detail)
            return call.result(VerificationOutcome.UNAVAILABLE, detail=detail[:500])
        except EndpointUnresolved as unresolved:
            await self._failed(call, str(unresolved))

        body = json.dumps(
            {"call_id": wire_id(request), "item": item.code, "question": request.question}, ensure_ascii=False
        ).encode()
        headers, extensions = destination.signed_post(keys, wire_id(request), body)
        try:
            async with self._http.stream(
                "POST",
                destination.request_url(destination.addresses[0]),
                content=body,
                headers=headers,
                extensions=extensions,
                follow_redirects=False,
                timeout=httpx.Timeout(item.timeout_seconds),
            ) as response:
                answer, complete = await read_answer(response, policy.reply_max_bytes)
        except (httpx.RequestError, httpx.InvalidURL) as error:
            reason = "no answer in time" if isinstance(error, httpx.TimeoutException) else "unreachable"
            await self._failed(call, f"{reason} ({type(error).__name__})")

        status = response.status_code
        if responses.is_retryable(status):
            await self._failed(call, f"HTTP {status}", status, responses.retry_after(response))
        if not responses.is_delivered(status):
            await self._record(call, VerificationOutcome.REFUSED, status=status, detail=f"HTTP {status}")
            return call.result(VerificationOutcome.REFUSED, status=status, detail=f"the system answered HTTP {status}")
        problem: str | None = None if complete else f"the answer is longer than {policy.reply_max_bytes} bytes"
        problem = problem or answer_signed(keys, wire_id(request), response.headers, answer, time.time())
        parsed = None
        if problem is None:
            try:
                parsed = json.loads(answer)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                problem = "the answer is not a JSON object"
        digest = keyed_digest(keys[0], answer)
        if problem is not None or not isinstance(parsed, dict):
            await self._record(call, VerificationOutcome.UNTRUSTED, status=status, answer=digest, detail=problem)
            activity.logger.error(
                "verification answer not trusted",
                extra={"item": item.code, "system": item.system, "call_id": request.call_id, "problem": problem},
            )
            return call.result(VerificationOutcome.UNTRUSTED, status=status, detail=problem)
        await self._record(call, VerificationOutcome.ANSWERED, status=status, answer=digest)
        activity.logger.info(
            "verification answered", extra={"item": item.code, "system": item.system, "call_id": request.call_id}
        )
        return call.result(VerificationOutcome.ANSWERED, status=status, answer=parsed, answer_digest=digest)

    def _keys(self, item: SharedItem) -> list[bytes]:
        secret = self._secrets(item.secret_ref) if item.secret_ref else None
        if secret is None:
            where = f"set {secret_env_name(item.secret_ref)} on the workers" if item.secret_ref else "give it one"
            raise ApplicationError(
                f"shared data item {item.code} has no secret: {where}", type=VERIFICATION_MISCONFIGURED
            )
        try:
            return signing_keys(secret)
        except UnusableSecret as unusable:
            raise ApplicationError(
                f"the secret of shared data item {item.code} cannot sign: {unusable}", type=VERIFICATION_MISCONFIGURED
            ) from None

    async def _failed(
        self, call: _Call, detail: str, status: int | None = None, retry_after: timedelta | None = None
    ) -> NoReturn:
        """An attempt that may succeed later: recorded, then retried by the policy."""
        await self._record(call, None, status=status, detail=detail)
        activity.logger.warning(
            "verification not answered, will retry",
            extra={"item": call.item.code, "system": call.item.system, "detail": detail},
        )
        raise ApplicationError(
            f"verification {call.request.call_id} of {call.item.code}: {detail}",
            type=VERIFICATION_FAILED,
            next_retry_delay=retry_after,
        )

    async def _record(
        self,
        call: _Call,
        outcome: VerificationOutcome | None,
        *,
        status: int | None = None,
        answer: str | None = None,
        detail: str | None = None,
    ) -> None:
        label = outcome.value if outcome is not None else "failed"
        row = {
            "call_id": call.request.call_id,
            "attempt": activity.info().attempt,
            "item_code": call.item.code,
            "asking_department": call.request.asking_department,
            "answering_department": call.item.department_code,
            "system": call.item.system,
            "purpose_kind": call.request.purpose.kind.value,
            "purpose_id": call.request.purpose.id,
            "question_digest": call.question_digest,
            "answer_digest": answer,
            "outcome": label,
            "status_code": status,
            "detail": detail,
            "called_at": datetime.now(UTC),
        }
        async with self._sessions.begin() as session:
            await insert_once(session, VerificationCall, row, ["call_id", "asking_department", "attempt"])
        VERIFICATIONS.labels(call.item.code, call.item.system, label).inc()


class _Call:
    """One call's request, its item and the question's digest, for the records and the result."""

    def __init__(self, request: VerificationRequest, item: SharedItem, question_digest: str) -> None:
        self.request = request
        self.item = item
        self.question_digest = question_digest

    def result(
        self,
        outcome: VerificationOutcome,
        *,
        status: int | None = None,
        answer: dict[str, object] | None = None,
        answer_digest: str | None = None,
        detail: str | None = None,
    ) -> VerificationResult:
        return VerificationResult(
            call_id=self.request.call_id,
            item_code=self.item.code,
            asking_department=self.request.asking_department,
            purpose=self.request.purpose,
            answering_department=self.item.department_code,
            system=self.item.system,
            outcome=outcome,
            answer=answer,  # type: ignore[arg-type]
            answer_digest=answer_digest,
            status_code=status,
            attempts=activity.info().attempt,
            detail=detail[:500] if detail else None,
            answered_at=datetime.now(UTC) if outcome is VerificationOutcome.ANSWERED else None,
        )
