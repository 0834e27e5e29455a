"""Delivers a push to a department: a signed HTTP POST to its webhook, or its inbox when it has none.

Every attempt is recorded. Temporal does the retrying (workflows.policies.DEPARTMENT_DELIVERY): this module
only decides whether an answer is final. Each attempt checks the registry's stamp (activities.store.registry's
DepartmentDirectory), so a corrected webhook URL or secret takes effect on the next retry.

Pushes are signed per Standard Webhooks v1 (activities.gateway.signing). A webhook URL the rules refuse
(activities.gateway.endpoints) and a webhook that answers 410 Gone both send the push to the inbox instead, and
fail the activity for good so the workflow tells the coordinator; after a 410 every later push goes to the inbox.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn

import httpx
from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.gateway import responses
from activities.gateway.endpoints import (
    Destination,
    EndpointRefused,
    EndpointUnresolved,
    WebhookPolicy,
    resolve,
)
from activities.gateway.outbound import OutboundActivities
from activities.gateway.signing import UnusableSecret, signing_keys
from activities.gateway.webhook_secrets import secret_env_name
from activities.metrics import DELIVERIES, GATEWAY_REQUESTS, WEBHOOK_ENDPOINTS_DISABLED
from activities.store import stamps
from activities.store.delivery import (
    AttemptOutcome,
    AttemptRecorder,
    DeliveryChannel,
    InboxRecorder,
    InboxRepository,
    attempt_of,
)
from activities.store.registry import Department, DepartmentDirectory
from schemas.delivery import DeliveryOutcome, DeliveryRejection, DeliveryResult, Push

# Error types a workflow may catch; DeliveryRejected and NotFound are in policies.NON_RETRYABLE_ERRORS, and
# EndpointRefused is raised non-retryable.
DELIVERY_FAILED = "DeliveryFailed"
DELIVERY_MISCONFIGURED = "DeliveryMisconfigured"
DELIVERY_REJECTED = "DeliveryRejected"
ENDPOINT_REFUSED = "EndpointRefused"
NOT_FOUND = "NotFound"
REJECTED = "Rejected"


@dataclass(frozen=True)
class _Endpoint:
    """What one attempt needs of the department, read before the call so no transaction spans the network."""

    url: str | None
    secret_ref: str | None
    disabled: bool


class GatewayActivities(OutboundActivities):
    _directory: DepartmentDirectory | None = None
    _recorder: AttemptRecorder | None = None
    _inboxes: InboxRecorder | None = None

    @property
    def directory(self) -> DepartmentDirectory:
        """The departments this worker keeps between registry changes."""
        if self._directory is None:
            self._directory = DepartmentDirectory()
        return self._directory

    @activity.defn(name="deliver_push")
    async def deliver_push(self, push: Push) -> DeliveryResult:
        endpoint = await self._endpoint_of(push)
        if endpoint.url is None or endpoint.disabled:
            return await self._store_in_inbox(push)
        policy = self.policy
        try:
            destination = await resolve(endpoint.url, policy)
        except EndpointRefused as refused:
            await self._refuse(push, refused.rule)
        except EndpointUnresolved as unresolved:
            await self._record(push, DeliveryChannel.WEBHOOK, AttemptOutcome.FAILED, error=str(unresolved))
            activity.logger.warning(
                "push not delivered, will retry",
                extra={"push_id": push.push_id, "department": push.department_code, "error": str(unresolved)},
            )
            raise ApplicationError(
                f"push {push.push_id} to {push.department_code}: {unresolved}", type=DELIVERY_FAILED
            ) from None
        keys = await self._keys_for(push, endpoint.secret_ref)
        return await self._post(push, destination, keys, policy)

    async def _endpoint_of(self, push: Push) -> _Endpoint:
        async with self._sessions() as session:
            department = await self.directory.get(session, push.department_code)
            endpoint = (
                None
                if department is None
                else _Endpoint(department.webhook_url, department.secret_ref, department.webhook_disabled)
            )
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

    async def _refuse(self, push: Push, rule: str) -> NoReturn:
        """A URL the rules refuse: nothing is sent, the push waits in the inbox, and retrying cannot help."""
        problem = f"webhook_url {rule}"
        await self._record(push, DeliveryChannel.WEBHOOK, AttemptOutcome.REJECTED, error=problem)
        activity.logger.error(
            "department webhook refused by the URL rules, push stored in the inbox",
            extra={"push_id": push.push_id, "department": push.department_code, "rule": rule},
        )
        await self._store_in_inbox(push)
        raise ApplicationError(
            f"push {push.push_id} to {push.department_code}: {problem}; the push waits in the department's inbox",
            type=ENDPOINT_REFUSED,
            non_retryable=True,
        )

    async def _keys_for(self, push: Push, secret_ref: str | None) -> list[bytes]:
        secret = self._secrets(secret_ref) if secret_ref else None
        problem = None
        if secret is None:
            # The push waits while an operator supplies the secret, and is never sent unsigned.
            where = f"set {secret_env_name(secret_ref)} on the workers" if secret_ref else "give it a secret_ref"
            problem = f"department {push.department_code!r} has a webhook but no secret: {where}"
        else:
            try:
                return signing_keys(secret)
            except UnusableSecret as unusable:
                assert secret_ref is not None
                problem = f"{secret_env_name(secret_ref)} cannot sign: {unusable}"
        await self._record(push, DeliveryChannel.WEBHOOK, AttemptOutcome.FAILED, error=problem)
        activity.logger.error(
            "department webhook has no usable secret",
            extra={"push_id": push.push_id, "department": push.department_code},
        )
        # Retryable on purpose, like a missing secret: fixing the variable lets the push go out.
        raise ApplicationError(f"push {push.push_id}: {problem}", type=DELIVERY_MISCONFIGURED)

    async def _post(
        self, push: Push, destination: Destination, keys: list[bytes], policy: WebhookPolicy
    ) -> DeliveryResult:
        body = push.model_dump_json().encode()
        headers, extensions = destination.signed_post(keys, push.push_id, body)
        started = time.perf_counter()
        try:
            reply = await self._send(destination, body, headers, extensions, policy.reply_max_bytes)
        except (httpx.RequestError, httpx.InvalidURL) as error:
            GATEWAY_REQUESTS.labels(result=AttemptOutcome.FAILED.value).observe(time.perf_counter() - started)
            detail = _transport_problem(error)
            await self._record(push, DeliveryChannel.WEBHOOK, AttemptOutcome.FAILED, error=detail)
            activity.logger.warning(
                "push not delivered, will retry",
                extra={"push_id": push.push_id, "department": push.department_code, "error": detail},
            )
            raise ApplicationError(
                f"push {push.push_id} to {push.department_code}: {detail}", type=DELIVERY_FAILED
            ) from None

        status = reply.status
        GATEWAY_REQUESTS.labels(result=_result_of(status).value).observe(time.perf_counter() - started)
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

        message = f"push {push.push_id} to {push.department_code}: {reply}"
        if responses.is_retryable(status):
            await self._record(
                push, DeliveryChannel.WEBHOOK, AttemptOutcome.FAILED, status_code=status, error=str(reply)
            )
            activity.logger.warning(
                "push not delivered, will retry",
                extra={"push_id": push.push_id, "department": push.department_code, "status": status},
            )
            raise ApplicationError(message, type=DELIVERY_FAILED, next_retry_delay=reply.retry_after)
        await self._record(push, DeliveryChannel.WEBHOOK, AttemptOutcome.REJECTED, status_code=status, error=str(reply))
        rejection = DeliveryRejection(
            push_id=push.push_id, department_code=push.department_code, status_code=status, body=str(reply)
        )
        if responses.is_gone(status):
            await self._disable_webhook(push)
            await self._store_in_inbox(push)
            message += "; its webhook is disabled and the push waits in the department's inbox"
        else:
            activity.logger.error(
                "push rejected by the department",
                extra={"push_id": push.push_id, "department": push.department_code, "status": status},
            )
        raise ApplicationError(message, rejection, type=DELIVERY_REJECTED, non_retryable=True)

    async def _send(
        self,
        destination: Destination,
        body: bytes,
        headers: dict[str, str],
        extensions: dict[str, str],
        max_bytes: int,
    ) -> responses.Reply:
        """POSTs to the checked addresses in turn until one accepts the connection; nothing is sent twice."""
        last = len(destination.addresses) - 1
        for index, address in enumerate(destination.addresses):
            try:
                async with self._http.stream(
                    "POST",
                    destination.request_url(address),
                    content=body,
                    headers=headers,
                    extensions=extensions,
                    follow_redirects=False,
                ) as response:
                    return await responses.read_reply(response, max_bytes)
            except httpx.ConnectError:
                if index == last:
                    raise
        raise AssertionError("a destination has at least one address")

    async def _disable_webhook(self, push: Push) -> None:
        """410 Gone: later pushes go to the inbox until an import changes the department; the operator is told."""
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            enabled = or_(
                Department.webhook_disabled_at.is_(None), Department.webhook_disabled_at < Department.updated_at
            )
            disabled = await session.execute(
                update(Department)
                .where(Department.code == push.department_code, enabled)
                .values(webhook_disabled_at=now)
            )
            await stamps.bump(session, stamps.REGISTRY)  # every worker's kept departments see it at once
        if disabled.rowcount:  # type: ignore[attr-defined]  # first to see the 410: count the endpoint once
            WEBHOOK_ENDPOINTS_DISABLED.labels(push.department_code).inc()
            activity.logger.error(
                "department webhook answered 410 Gone: disabled; its pushes wait in its inbox until the registry "
                "gives it a new webhook_url",
                extra={"push_id": push.push_id, "department": push.department_code},
            )

    async def _store_in_inbox(self, push: Push) -> DeliveryResult:
        if self._inboxes is None:
            self._inboxes = InboxRecorder(self._sessions)
        row = InboxRepository.row_of(push, datetime.now(UTC))
        await self._inboxes.record(
            (row, attempt_of(push, DeliveryChannel.INBOX, AttemptOutcome.INBOXED, datetime.now(UTC)))
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
        if self._recorder is None:
            self._recorder = AttemptRecorder(self._sessions)
        await self._recorder.record(
            attempt_of(push, channel, outcome, datetime.now(UTC), status_code=status_code, error=error)
        )
        DELIVERIES.labels(push.department_code, channel.value, outcome.value).inc()


async def enable_webhook(sessions: async_sessionmaker[AsyncSession], department_code: str) -> bool | None:
    """An operator's word that a department's webhook, disabled after a 410 Gone, takes pushes again (its system
    came back at the same URL): True if it was disabled, False if it was not, None if the department has no webhook
    (or is unknown). Pushes already in its inbox stay there."""
    async with sessions.begin() as session:
        department = await session.get(Department, department_code)
        if department is None or department.webhook_url is None:
            return None
        gone_at = department.webhook_disabled_at
        was_disabled = gone_at is not None and gone_at >= department.updated_at
        department.webhook_disabled_at = None
        await stamps.bump(session, stamps.REGISTRY)  # every worker's kept departments see it at once
    return was_disabled


def _transport_problem(error: Exception) -> str:
    problem = "no answer in time" if isinstance(error, httpx.TimeoutException) else "unreachable"
    said = str(error)
    return f"{problem} ({type(error).__name__}: {said})" if said else f"{problem} ({type(error).__name__})"


def _result_of(status: int) -> AttemptOutcome:
    if responses.is_delivered(status):
        return AttemptOutcome.DELIVERED
    return AttemptOutcome.FAILED if responses.is_retryable(status) else AttemptOutcome.REJECTED
