"""One activity for every push and SMS of a transition: each tried once, side by side, in one activity.

A transition that tells four departments costs the case's history one activity instead of four, and a red card at
the 17:30 instant one instead of two. Each item is answered done, refused for good (a department's rejection, an
unknown department, nobody on the roster with a phone: what the single activity would have failed non-retryably)
or to retry (a department down), never as a failure of the batch: the workflow records a refusal as it always did
and sends each one to retry with its own activity and the full retry policy, as it sends every item when the batch
itself fails. A push or SMS sent again keeps its id, so a department or the SMS provider sees a repeat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.gateway.delivery import GatewayActivities
from activities.intake.requester import RequesterActivities
from activities.notify.sms import SmsActivities
from schemas.delivery import BatchItem, BatchOutcome, DeliveryBatch, DeliveryBatchResult, SmsNotification, SmsResult


class BatchDeliveryActivities:
    def __init__(
        self, gateway: GatewayActivities, sms: SmsActivities, requester: RequesterActivities | None = None
    ) -> None:
        self._gateway = gateway
        self._sms = sms
        self._requester = requester

    @activity.defn(name="deliver_transition")
    async def deliver_transition(self, batch: DeliveryBatch) -> DeliveryBatchResult:
        tried = await asyncio.gather(
            *(self._try(self._gateway.deliver_push(push), push.push_id) for push in batch.pushes),
            *(self._try(self._text(sms), sms.notification_id) for sms in batch.sms),
        )
        return DeliveryBatchResult(pushes=tried[: len(batch.pushes)], sms=tried[len(batch.pushes) :])

    async def _text(self, sms: SmsNotification) -> SmsResult:
        """A requester's SMS goes to the requester's own number, as the workflow's single activity sends it; every
        other SMS to the department's roster."""
        if sms.to_requester:
            if self._requester is None:
                raise ApplicationError(f"sms {sms.notification_id}: no requester SMS on this worker")
            return await self._requester.text_requester(sms)
        return await self._sms.send_sms(sms)

    async def _try(self, attempt: Awaitable[object], item_id: str) -> BatchItem:
        """One try; every push attempt is in the delivery ledger and logged by the gateway either way."""
        try:
            await attempt
        except ApplicationError as error:
            if error.non_retryable:  # what the gateway and the SMS activity refuse for good
                return BatchItem(outcome=BatchOutcome.REFUSED, why=error.message)
            return BatchItem(outcome=BatchOutcome.RETRY, why=error.message, retry_after=error.next_retry_delay)
        except Exception as error:
            activity.logger.warning("%s: batch try failed: %s", item_id, error)
            return BatchItem(outcome=BatchOutcome.RETRY, why=str(error))
        return BatchItem(outcome=BatchOutcome.DONE)
