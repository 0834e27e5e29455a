"""Pulls a day's delivery from the deliverer's system, for entries that name a pull_url instead of posting.

The pull is a signed POST of `{"delivery", "day"}`; the system answers the day's records signed the same way
(`{"records": [...]}`), or 204 when it has nothing yet. Temporal retries an outage
(workflows.policies.DELIVERY_PULL); a refusal or an answer that does not check is final for this pull, and the day
waits for the due time as any other.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.gateway import responses
from activities.gateway.answers import answer_signed, read_answer
from activities.gateway.endpoints import EndpointRefused, EndpointUnresolved, resolve
from activities.gateway.outbound import OutboundActivities
from activities.gateway.signing import UnusableSecret, signing_keys
from activities.gateway.webhook_secrets import secret_env_name
from activities.store.collaboration import CollaborationRepository
from schemas.scheduled import DeliveryPull, DeliveryPulled

PULL_FAILED = "DeliveryPullFailed"
PULL_REFUSED = "DeliveryPullRefused"


def records_digest(records: list[dict[str, object]]) -> str:
    """The SHA-256 the door computes of posted records, so a pulled day and a posted one read alike."""
    return hashlib.sha256(json.dumps(records, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class DeliveryPullActivities(OutboundActivities):
    @activity.defn(name="pull_delivery")
    async def pull_delivery(self, pull: DeliveryPull) -> DeliveryPulled:
        async with self._sessions() as session:
            entry = await CollaborationRepository(session).scheduled_delivery(pull.delivery_code)
        if entry is None or entry.pull_url is None or entry.secret_ref is None:
            raise ApplicationError(f"{pull.delivery_code} names no pull_url", type=PULL_REFUSED, non_retryable=True)
        secret = self._secrets(entry.secret_ref)
        if secret is None:
            raise ApplicationError(f"set {secret_env_name(entry.secret_ref)} on the workers", type=PULL_FAILED)
        try:
            keys = signing_keys(secret)
        except UnusableSecret as unusable:
            raise ApplicationError(str(unusable), type=PULL_REFUSED, non_retryable=True) from None
        policy = self.policy
        try:
            destination = await resolve(entry.pull_url, policy)
        except EndpointRefused as refused:
            raise ApplicationError(f"pull_url {refused.rule}", type=PULL_REFUSED, non_retryable=True) from None
        except EndpointUnresolved as unresolved:
            raise ApplicationError(str(unresolved), type=PULL_FAILED) from None
        pull_id = f"delivery-{pull.delivery_code}-{pull.day}"
        body = json.dumps({"delivery": pull.delivery_code, "day": pull.day.isoformat()}).encode()
        headers, extensions = destination.signed_post(keys, pull_id, body)
        try:
            async with self._http.stream(
                "POST",
                destination.request_url(destination.addresses[0]),
                content=body,
                headers=headers,
                extensions=extensions,
                follow_redirects=False,
            ) as response:
                answer, complete = await read_answer(response, 4 << 20)
        except (httpx.RequestError, httpx.InvalidURL) as error:
            raise ApplicationError(f"{pull.delivery_code}: {type(error).__name__}", type=PULL_FAILED) from None
        status = response.status_code
        if status == 204:
            return DeliveryPulled()
        if responses.is_retryable(status):
            raise ApplicationError(
                f"{pull.delivery_code}: HTTP {status}",
                type=PULL_FAILED,
                next_retry_delay=responses.retry_after(response),
            )
        if not responses.is_delivered(status):
            raise ApplicationError(f"{pull.delivery_code}: HTTP {status}", type=PULL_REFUSED, non_retryable=True)
        problem = None if complete else "the answer is longer than 4 MiB"
        problem = problem or answer_signed(keys, pull_id, response.headers, answer, time.time())
        records = None
        if problem is None:
            try:
                records = json.loads(answer).get("records")
            except (ValueError, AttributeError):
                records = None
            if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
                problem = 'the answer is not {"records": [objects]}'
        if problem is not None or not isinstance(records, list):
            activity.logger.error(
                "pulled delivery not trusted", extra={"delivery": pull.delivery_code, "problem": problem}
            )
            raise ApplicationError(f"{pull.delivery_code}: {problem}", type=PULL_REFUSED, non_retryable=True)
        activity.logger.info(
            "delivery pulled",
            extra={"delivery": pull.delivery_code, "records": len(records), "at": datetime.now(UTC).isoformat()},
        )
        return DeliveryPulled(records=records, digest=records_digest(records) if records else None)
