"""One activity for a transition's pushes and SMS: each tried once, what went out named, the rest left to the
workflow's one-by-one delivery; against real HTTP receivers on 127.0.0.1 and the store's registry."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment

from activities.gateway.batch import BatchDeliveryActivities
from activities.gateway.delivery import GatewayActivities
from activities.gateway.webhook_secrets import environment_secret
from activities.notify.providers import LoggingSmsProvider
from activities.notify.sms import SmsActivities
from activities.store.delivery import DeliveryAttemptRepository
from activities.store.registry import RosterEntry
from schemas.delivery import BatchOutcome, DeliveryBatch, SmsNotification
from tests.gateway.conftest import LOCAL_RECEIVERS, a_push, add_department
from tests.gateway.department import DepartmentSystem
from tests.gateway.receiver import Answer

DONE, REFUSED, RETRY = BatchOutcome.DONE, BatchOutcome.REFUSED, BatchOutcome.RETRY


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # Generous, so a loaded two-core machine answering slowly never fails a test (no department here is silent).
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0)) as client:
        yield client


def batch_activities(sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient) -> BatchDeliveryActivities:
    gateway = GatewayActivities(sessions, http, environment_secret, LOCAL_RECEIVERS)
    return BatchDeliveryActivities(gateway, SmsActivities(sessions, LoggingSmsProvider()))


def an_sms(department_code: str) -> SmsNotification:
    return SmsNotification(
        notification_id=f"sms-{department_code}", department_code=department_code, template_id="SMS_CASE_PUSHED"
    )


async def test_what_goes_out_on_the_one_try_is_named_and_the_rest_left_for_one_by_one(
    sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient, webhook_secret: str
) -> None:
    up = DepartmentSystem(webhook_secret, [Answer(200, "ok")])
    down = DepartmentSystem(webhook_secret, [Answer(503, "maintenance")])
    phone = RosterEntry(
        department_code="SQ-UP", matter_code=None, role="liaison", person_name="张三", phone="13800001111"
    )
    await add_department(sessions, "SQ-UP", webhook_url=up.receiver.url, roster=[phone])
    await add_department(sessions, "SQ-DOWN", webhook_url=down.receiver.url)
    await add_department(sessions, "SQ-INBOX")  # no webhook: its push waits in its inbox, which is delivered
    pushes = [a_push("SQ-UP"), a_push("SQ-DOWN"), a_push("SQ-INBOX"), a_push("SQ-GONE")]

    with up.receiver.running(), down.receiver.running():
        result = await ActivityEnvironment().run(
            batch_activities(sessions, http).deliver_transition,
            DeliveryBatch(pushes=pushes, sms=[an_sms("SQ-UP"), an_sms("SQ-DOWN")]),
        )

    # Delivered and inboxed are done; a department answering 503 is the workflow's to retry; one the registry lacks,
    # and an SMS nobody on its roster can receive, are refused for good, as the single activities would fail them.
    assert [item.outcome for item in result.pushes] == [DONE, RETRY, DONE, REFUSED]
    assert "HTTP 503" in (result.pushes[1].why or "")
    assert "does not exist in the registry" in (result.pushes[3].why or "")
    assert [item.outcome for item in result.sms] == [DONE, REFUSED]
    assert "nobody with a phone" in (result.sms[1].why or "")
    assert list(up.stored) == [pushes[0].push_id]
    assert [request.status for request in down.receiver.requests] == [503]
    async with sessions() as session:
        ledger = DeliveryAttemptRepository(session)
        outcomes = [[(a.attempt, a.outcome) for a in await ledger.for_push(push.push_id)] for push in pushes]
    assert outcomes == [[(1, "delivered")], [(1, "failed")], [(1, "inboxed")], [(1, "unknown_department")]]


async def test_an_empty_batch_answers_nothing_delivered(
    sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient
) -> None:
    result = await ActivityEnvironment().run(batch_activities(sessions, http).deliver_transition, DeliveryBatch())
    assert result.pushes == [] and result.sms == []
