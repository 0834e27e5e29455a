"""A tiny workflow that delivers one push, so Temporal itself retries the gateway activity in tests."""

from __future__ import annotations

import dataclasses

from temporalio import workflow
from temporalio.workflow import ActivityConfig

with workflow.unsafe.imports_passed_through():
    from activities.gateway.delivery import GatewayActivities
    from schemas.delivery import DeliveryResult, Push
    from workflows import policies

ATTEMPTS = 3

_PRODUCTION_RETRY = policies.DEPARTMENT_DELIVERY["retry_policy"]
assert _PRODUCTION_RETRY is not None
# The production policy, bounded so a test that never succeeds still ends.
DELIVERY: ActivityConfig = {
    **policies.DEPARTMENT_DELIVERY,
    "retry_policy": dataclasses.replace(_PRODUCTION_RETRY, maximum_attempts=ATTEMPTS),
}


@workflow.defn(name="DeliverOnePush")
class DeliverOnePushWorkflow:
    @workflow.run
    async def run(self, push: Push) -> DeliveryResult:
        return await workflow.execute_activity_method(GatewayActivities.deliver_push, push, **DELIVERY)
