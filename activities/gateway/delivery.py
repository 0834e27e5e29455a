"""Delivers a push to a department: a signed HTTP POST to its webhook, or its inbox when it has none.

Every attempt is recorded. Temporal does the retrying (workflows.policies.DEPARTMENT_DELIVERY): this module
only decides whether an answer is final. Each attempt reads the registry afresh, so a corrected webhook URL or
secret takes effect on the next retry.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.gateway import responses
from activities.gateway.signing import IDEMPOTENCY_KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from activities.gateway.webhook_secrets import SecretResolver, secret_env_name
from activities.metrics import DELIVERIES
from activities.store.delivery import (
    AttemptOutcome,
    DeliveryAttempt,
    DeliveryAttemptRepository,
    DeliveryChannel,
    InboxRepository,
)
from activities.store.registry import RegistryRepository
from schemas.delivery import DeliveryOutcome, DeliveryRejection, DeliveryResult, Push

# Error types a workflow may catch; DeliveryRejected and NotFound are in policies.NON_RETRYABLE_ERRORS.
DELIVERY_FAILED = "DeliveryFailed"
DELIVERY_MISCONFIGURED = "DeliveryMisconfigured"
DELIVERY_REJECTED = "DeliveryRejected"
NOT_FOUND = "NotFound"
REJECTED = "Rejected"


@dataclass(frozen=True)
class _Endpoint:
    """What one attempt needs of the department, read before the call so no transaction spans the network."""

    url: str | None
    secret_ref: str | None


class GatewayActivities:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient, secrets: SecretResolver
    ) -> None:
        self._sessions = sessions
        self._http = http
        self._secrets = secrets

    @activity.defn(name="deliver_push")
    async def deliver_push(self, push: Push) -> DeliveryResult:
        endpoint = await self._endpoint_of(push)
        if endpoint.url is None:
            return await self._store_in_inbox(push)
        return await self._post(push, endpoint.url, await self._secret_for(push, endpoint.secret_ref))

    async def _endpoint_of(self, push: Push) -> _Endpoint:
        async with self._sessions() as session:
            department = await RegistryRepository(session).get_department(push.department_code)
            endpoint = None if department is None else _Endpoint(department.webhook_url, department.secret_ref)
            active = department is not None and department.active
        if endpoint is None:
            await self._record(
                push, DeliveryChannel.NONE, AttemptOutcome.UNKNOWN_DEPARTMENT, error="unknown department"
            )
            raise ApplicationError(
                f"push {push.push_id}: department {push.department_code!r} does not exist in the registry",
                type=NOT_FOUND,
                non_retryable=True,
            )
        if not active:
            await self._record(push, DeliveryChannel.NONE, AttemptOutcome.REJECTED, error="department inactive")
            raise ApplicationError(
                f"push {push.push_id}: department {push.department_code!r} is inactive in the registry",
                type=REJECTED,
                non_retryable=True,
            )
        return endpoint

    async def _secret_for(self, push: Push, secret_ref: str | None) -> bytes:
        secret = self._secrets(secret_ref) if secret_ref else None
        if secret is not None:
            return secret
        # Retryable on purpose: the push waits while an operator supplies the secret, and is never sent unsigned.
        where = f"set {secret_env_name(secret_ref)} on the workers" if secret_ref else "give it a secret_ref"
        problem = f"department {push.department_code!r} has a webhook but no secret: {where}"
        await self._record(push, DeliveryChannel.WEBHOOK, AttemptOutcome.FAILED, error=problem)
        activity.logger.error(
            "department webhook has no secret", extra={"push_id": push.push_id, "department": push.department_code}
        )
        raise ApplicationError(f"push {push.push_id}: {problem}", type=DELIVERY_MISCONFIGURED)

    async def _post(self, push: Push, url: str, secret: bytes) -> DeliveryResult:
        body = push.model_dump_json().encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_KEY_HEADER: push.push_id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(secret, timestamp, body),
        }
        try:
            response = await self._http.post(url, content=body, headers=headers)
        except (httpx.RequestError, httpx.InvalidURL) as error:
            detail = _transport_problem(error)
            await self._record(push, DeliveryChannel.WEBHOOK, AttemptOutcome.FAILED, error=detail)
            activity.logger.warning(
                "push not delivered, will retry",
                extra={"push_id": push.push_id, "department": push.department_code, "error": detail},
            )
            raise ApplicationError(
                f"push {push.push_id} to {push.department_code}: {detail}", type=DELIVERY_FAILED
            ) from error

        status = response.status_code
        if responses.is_delivered(status):
            await self._record(push, DeliveryChannel.WEBHOOK, AttemptOutcome.DELIVERED, status_code=status)
            activity.logger.info(
                "push delivered", extra={"push_id": push.push_id, "department": push.department_code, "status": status}
            )
            return DeliveryResult(
                push_id=push.push_id,
                department_code=push.department_code,
                outcome=DeliveryOutcome.DELIVERED,
                attempts=activity.info().attempt,
                status_code=status,
            )

        kept = responses.kept_body(response)
        message = f"push {push.push_id} to {push.department_code}: HTTP {status}: {responses.body_excerpt(response)}"
        if responses.is_retryable(status):
            await self._record(push, DeliveryChannel.WEBHOOK, AttemptOutcome.FAILED, status_code=status, error=kept)
            activity.logger.warning(
                "push not delivered, will retry",
                extra={"push_id": push.push_id, "department": push.department_code, "status": status},
            )
            raise ApplicationError(message, type=DELIVERY_FAILED, next_retry_delay=responses.retry_after(response))
        await self._record(push, DeliveryChannel.WEBHOOK, AttemptOutcome.REJECTED, status_code=status, error=kept)
        activity.logger.error(
            "push rejected by the department",
            extra={"push_id": push.push_id, "department": push.department_code, "status": status},
        )
        raise ApplicationError(
            message,
            DeliveryRejection(
                push_id=push.push_id, department_code=push.department_code, status_code=status, body=kept
            ),
            type=DELIVERY_REJECTED,
            non_retryable=True,
        )

    async def _store_in_inbox(self, push: Push) -> DeliveryResult:
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            await InboxRepository(session).store(
                {
                    "push_id": push.push_id,
                    "department_code": push.department_code,
                    "kind": push.kind.value,
                    "subject_id": push.subject_id,
                    "issued_at": push.issued_at,
                    "received_at": now,
                    "body": push.body,
                }
            )
            await DeliveryAttemptRepository(session).record(
                self._attempt(push, DeliveryChannel.INBOX, AttemptOutcome.INBOXED)
            )
        DELIVERIES.labels(push.department_code, DeliveryChannel.INBOX.value, AttemptOutcome.INBOXED.value).inc()
        activity.logger.info(
            "push stored in inbox", extra={"push_id": push.push_id, "department": push.department_code}
        )
        return DeliveryResult(
            push_id=push.push_id,
            department_code=push.department_code,
            outcome=DeliveryOutcome.INBOXED,
            attempts=activity.info().attempt,
        )

    async def _record(
        self,
        push: Push,
        channel: DeliveryChannel,
        outcome: AttemptOutcome,
        status_code: int | None = None,
        error: str | None = None,
    ) -> None:
        async with self._sessions.begin() as session:
            await DeliveryAttemptRepository(session).record(self._attempt(push, channel, outcome, status_code, error))
        DELIVERIES.labels(push.department_code, channel.value, outcome.value).inc()

    @staticmethod
    def _attempt(
        push: Push,
        channel: DeliveryChannel,
        outcome: AttemptOutcome,
        status_code: int | None = None,
        error: str | None = None,
    ) -> DeliveryAttempt:
        info = activity.info()
        return DeliveryAttempt(
            push_id=push.push_id,
            department_code=push.department_code,
            attempt=info.attempt,
            channel=channel.value,
            outcome=outcome.value,
            status_code=status_code,
            error=error,
            workflow_id=info.workflow_id,
            attempted_at=datetime.now(UTC),
        )


def _transport_problem(error: Exception) -> str:
    problem = "no answer in time" if isinstance(error, httpx.TimeoutException) else "unreachable"
    said = str(error)
    return f"{problem} ({type(error).__name__}: {said})" if said else f"{problem} ({type(error).__name__})"
