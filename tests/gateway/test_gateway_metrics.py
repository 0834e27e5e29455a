"""Gateway health on /metrics: every webhook call is timed under its result, so calls and failures read from one
histogram (`caseloop_gateway_request_seconds_count` by result)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from activities.gateway.delivery import GatewayActivities
from activities.gateway.webhook_secrets import environment_secret
from schemas.delivery import DeliveryOutcome
from tests.gateway.conftest import LOCAL_RECEIVERS, a_push, add_department
from tests.gateway.department import DepartmentSystem
from tests.gateway.receiver import Answer
from tests.gateway.test_delivery import deliver_through_temporal


@pytest.fixture
async def gateway(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[GatewayActivities]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(2)) as http:
        yield GatewayActivities(sessions, http, environment_secret, LOCAL_RECEIVERS)


def _calls(result: str) -> float:
    return REGISTRY.get_sample_value("caseloop_gateway_request_seconds_count", {"result": result}) or 0.0


async def test_each_webhook_call_is_counted_under_its_result(
    ts_env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    gateway: GatewayActivities,
    task_queue: str,
    webhook_secret: str,
) -> None:
    department = DepartmentSystem(webhook_secret, [Answer(503), Answer(200, "ok")])
    await add_department(sessions, "SQ-SCJGJ", webhook_url=department.receiver.url)
    failed, delivered = _calls("failed"), _calls("delivered")

    with department.receiver.running():
        result = await deliver_through_temporal(ts_env, gateway, task_queue, a_push("SQ-SCJGJ"))

    assert result.outcome is DeliveryOutcome.DELIVERED
    assert (_calls("failed") - failed, _calls("delivered") - delivered) == (1, 1)
