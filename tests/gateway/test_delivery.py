"""The department gateway against a real HTTP receiver on 127.0.0.1, with Temporal doing the retrying."""

from __future__ import annotations

import dataclasses
import hashlib
import socket
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.gateway.delivery import GatewayActivities
from activities.gateway.webhook_secrets import environment_secret, secret_env_name
from activities.store.delivery import DeliveryAttempt, DeliveryAttemptRepository
from schemas.delivery import DeliveryOutcome, DeliveryResult, Push
from tests.gateway.conftest import LOCAL_RECEIVERS, SECRET_KEY, SECRET_REF, a_push, add_department
from tests.gateway.department import DepartmentSystem, verify_deprecated_headers
from tests.gateway.receiver import SILENCE, Answer, Receiver
from tests.gateway.workflows import ATTEMPTS, DeliverOnePushWorkflow


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # Generous, so a loaded two-core machine answering slowly never fails a test; the silent department's test
    # waits on a short one of its own.
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0)) as client:
        yield client


@pytest.fixture
def gateway(sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient) -> GatewayActivities:
    return GatewayActivities(sessions, http, environment_secret, LOCAL_RECEIVERS)


async def deliver_through_temporal(
    env: WorkflowEnvironment, gateway: GatewayActivities, task_queue: str, push: Push
) -> DeliveryResult:
    async with Worker(
        env.client, task_queue=task_queue, workflows=[DeliverOnePushWorkflow], activities=[gateway.deliver_push]
    ):
        return await env.client.execute_workflow(
            DeliverOnePushWorkflow.run,
            push,
            id=f"deliver-{uuid.uuid4()}",
            task_queue=task_queue,
        )


async def attempts_of(sessions: async_sessionmaker[AsyncSession], push_id: str) -> list[DeliveryAttempt]:
    async with sessions() as session:
        return list(await DeliveryAttemptRepository(session).for_push(push_id))


def _delivery_count(department: str, outcome: str) -> float:
    labels = {"department": department, "channel": "webhook", "outcome": outcome}
    return REGISTRY.get_sample_value("caseloop_deliveries_total", labels) or 0.0


def activity_failure(error: WorkflowFailureError) -> ApplicationError:
    assert isinstance(error.cause, ActivityError)
    assert isinstance(error.cause.cause, ApplicationError)
    return error.cause.cause


async def test_two_503_then_200_is_delivered_once_after_three_recorded_attempts(
    ts_env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    gateway: GatewayActivities,
    task_queue: str,
    webhook_secret: str,
) -> None:
    department = DepartmentSystem(webhook_secret, [Answer(503, "maintenance"), Answer(503), Answer(200, "ok")])
    receiver = department.receiver
    await add_department(sessions, "SQ-SCJGJ", webhook_url=receiver.url)
    push = a_push("SQ-SCJGJ")
    failed_before = _delivery_count("SQ-SCJGJ", "failed")
    delivered_before = _delivery_count("SQ-SCJGJ", "delivered")

    with receiver.running():
        result = await deliver_through_temporal(ts_env, gateway, task_queue, push)

    assert result.outcome is DeliveryOutcome.DELIVERED
    assert result.attempts == 3
    assert _delivery_count("SQ-SCJGJ", "failed") - failed_before == 2
    assert _delivery_count("SQ-SCJGJ", "delivered") - delivered_before == 1
    assert result.status_code == 200
    assert [r.status for r in receiver.requests] == [503, 503, 200]
    assert department.refused == 0, "every attempt verifies with the official Standard Webhooks library"
    assert list(department.stored) == [push.push_id]
    assert {r.headers["webhook-id"] for r in receiver.requests} == {push.push_id}
    assert len({r.body for r in receiver.requests}) == 1, "every attempt sends the same bytes"
    assert Push.model_validate_json(receiver.requests[0].body) == push
    attempts = await attempts_of(sessions, push.push_id)
    assert [(a.attempt, a.outcome, a.status_code) for a in attempts] == [
        (1, "failed", 503),
        (2, "failed", 503),
        (3, "delivered", 200),
    ]
    maintenance = hashlib.sha256(b"maintenance").hexdigest()[:12]
    assert attempts[0].error == f"HTTP 503, reply of 11 bytes, sha256:{maintenance}"
    assert attempts[1].error == "HTTP 503, empty reply"
    assert all(a.channel == "webhook" and a.attempted_at.tzinfo is not None for a in attempts)


async def test_the_deprecated_headers_still_go_out_beside_standard_webhooks(
    sessions: async_sessionmaker[AsyncSession], gateway: GatewayActivities, webhook_secret: str
) -> None:
    department = DepartmentSystem(webhook_secret, [Answer(200, "ok")])
    await add_department(sessions, "SQ-FGW", webhook_url=department.receiver.url)
    push = a_push("SQ-FGW")

    with department.receiver.running():
        result = await ActivityEnvironment().run(gateway.deliver_push, push)

    assert result.outcome is DeliveryOutcome.DELIVERED
    [request] = department.receiver.requests
    assert request.headers["idempotency-key"] == request.headers["webhook-id"] == push.push_id
    assert request.headers["x-caseloop-timestamp"] == request.headers["webhook-timestamp"]
    assert verify_deprecated_headers(SECRET_KEY, request.headers, request.body)
    assert request.headers["webhook-signature"].startswith("v1,") and " " not in request.headers["webhook-signature"]


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [("²³", "sha256=00"), ("now", "sha256=é"), ("١٧٠٠٠٠٠٠٠٠", "x"), ("9" * 5000, "x"), ("", "")],
)
def test_the_deprecated_recipe_refuses_non_ascii_headers_instead_of_crashing(timestamp: str, signature: str) -> None:
    now = str(int(time.time()))
    headers = {"x-caseloop-timestamp": now if timestamp == "now" else timestamp, "x-caseloop-signature": signature}
    assert verify_deprecated_headers(SECRET_KEY, headers, b"{}") is False


async def test_422_is_not_retried_and_keeps_no_part_of_the_departments_answer(
    ts_env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    gateway: GatewayActivities,
    task_queue: str,
    webhook_secret: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Departments echo what they refuse, and so a citizen's name and ID number.
    refusal = "申請人 張三 (110101199003077777): licence_no required for decision=grant"
    department = DepartmentSystem(webhook_secret, [Answer(422, refusal)])
    await add_department(sessions, "SQ-ZJJ", webhook_url=department.receiver.url)
    push = a_push("SQ-ZJJ")

    with department.receiver.running(), pytest.raises(WorkflowFailureError) as raised:
        await deliver_through_temporal(ts_env, gateway, task_queue, push)

    failure = activity_failure(raised.value)
    assert failure.type == "DeliveryRejected"
    assert failure.non_retryable
    digest = hashlib.sha256(refusal.encode()).hexdigest()[:12]
    summary = f"HTTP 422, reply of {len(refusal.encode())} bytes, sha256:{digest}"
    assert summary in failure.message
    assert failure.details[0]["body"] == summary
    assert failure.details[0]["status_code"] == 422
    assert len(department.receiver.requests) == 1
    [attempt] = await attempts_of(sessions, push.push_id)
    assert (attempt.outcome, attempt.status_code, attempt.error) == ("rejected", 422, summary)
    kept = [failure.message, str(failure.details), attempt.error or "", caplog.text]
    assert not any(secret in text for text in kept for secret in ("張三", "110101199003077777", "licence_no"))


async def test_a_long_reply_is_read_only_up_to_the_cap(
    sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient, webhook_secret: str
) -> None:
    page = "<html>" + "x" * (1 << 20) + "</html>"
    receiver = Receiver([Answer(500, page)])
    await add_department(sessions, "SQ-TJJ", webhook_url=receiver.url)
    capped_policy = dataclasses.replace(LOCAL_RECEIVERS, reply_max_bytes=1024)
    capped = GatewayActivities(sessions, http, environment_secret, capped_policy)

    with receiver.running(), pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(capped.deliver_push, a_push("SQ-TJJ"))

    digest = hashlib.sha256(page.encode()[:1024]).hexdigest()[:12]
    assert raised.value.type == "DeliveryFailed"
    assert raised.value.message.endswith(f"HTTP 500, reply of 1024 bytes and more, not read, sha256:{digest}")


async def test_a_silent_department_is_retried_until_the_policy_gives_up(
    ts_env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    task_queue: str,
    webhook_secret: str,
) -> None:
    department = DepartmentSystem(webhook_secret, [SILENCE])
    receiver = department.receiver
    await add_department(sessions, "SQ-FGW", webhook_url=receiver.url)
    push = a_push("SQ-FGW")

    # Short, so the silence costs the test a fraction of a second per attempt.
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.5)) as quick:
        gateway = GatewayActivities(sessions, quick, environment_secret, LOCAL_RECEIVERS)
        with receiver.running(), pytest.raises(WorkflowFailureError) as raised:
            await deliver_through_temporal(ts_env, gateway, task_queue, push)

    failure = activity_failure(raised.value)
    assert failure.type == "DeliveryFailed"
    assert not failure.non_retryable
    assert "no answer in time" in failure.message
    assert len(receiver.requests) == ATTEMPTS
    attempts = await attempts_of(sessions, push.push_id)
    assert [(a.attempt, a.outcome) for a in attempts] == [(n, "failed") for n in range(1, ATTEMPTS + 1)]
    assert all(a.status_code is None and "no answer in time" in (a.error or "") for a in attempts)


async def test_a_push_to_an_unknown_department_fails_at_once_naming_it(
    ts_env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    gateway: GatewayActivities,
    task_queue: str,
) -> None:
    push = a_push("SQ-NO-SUCH-BUREAU")

    with pytest.raises(WorkflowFailureError) as raised:
        await deliver_through_temporal(ts_env, gateway, task_queue, push)

    failure = activity_failure(raised.value)
    assert failure.type == "NotFound"
    assert failure.non_retryable
    assert "'SQ-NO-SUCH-BUREAU'" in failure.message
    [attempt] = await attempts_of(sessions, push.push_id)
    assert attempt.outcome == "unknown_department"


async def test_an_unreachable_department_is_retryable(
    sessions: async_sessionmaker[AsyncSession], gateway: GatewayActivities, webhook_secret: str
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    await add_department(sessions, "SQ-ZFJSJ", webhook_url=f"http://127.0.0.1:{closed_port}/push")
    push = a_push("SQ-ZFJSJ")

    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(gateway.deliver_push, push)

    assert raised.value.type == "DeliveryFailed"
    assert not raised.value.non_retryable
    assert "unreachable" in raised.value.message
    [attempt] = await attempts_of(sessions, push.push_id)
    assert attempt.outcome == "failed"


@pytest.mark.parametrize(
    ("answer", "wait"),
    [
        (Answer(429, "slow down", {"Retry-After": "7"}), timedelta(seconds=7)),
        (Answer(503, "maintenance", {"Retry-After": "120"}), timedelta(minutes=2)),
        (Answer(503, "maintenance", {"Retry-After": "9" * 5000}), timedelta(minutes=30)),
        (Answer(429, "slow down", {"Retry-After": "²"}), None),
        (Answer(500, "fault", {"Retry-After": "7"}), None),
    ],
)
async def test_throttling_honours_retry_after_within_bounds(
    sessions: async_sessionmaker[AsyncSession],
    gateway: GatewayActivities,
    webhook_secret: str,
    answer: Answer,
    wait: timedelta | None,
) -> None:
    receiver = DepartmentSystem(webhook_secret, [answer]).receiver
    await add_department(sessions, "SQ-GXJ", webhook_url=receiver.url)

    with receiver.running(), pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(gateway.deliver_push, a_push("SQ-GXJ"))

    assert raised.value.type == "DeliveryFailed"
    assert not raised.value.non_retryable
    assert raised.value.next_retry_delay == wait


async def test_a_webhook_without_its_secret_is_never_sent_unsigned(
    sessions: async_sessionmaker[AsyncSession], gateway: GatewayActivities, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(secret_env_name(SECRET_REF), raising=False)
    receiver = Receiver([Answer(200, "ok")])
    await add_department(sessions, "SQ-SPJ", webhook_url=receiver.url)
    push = a_push("SQ-SPJ")

    with receiver.running(), pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(gateway.deliver_push, push)

    assert raised.value.type == "DeliveryMisconfigured"
    assert not raised.value.non_retryable, "the push waits for the operator to supply the secret"
    assert "CASELOOP_SECRET_TEST_DEPARTMENT_WEBHOOK" in raised.value.message
    assert receiver.requests == []
    [attempt] = await attempts_of(sessions, push.push_id)
    assert attempt.outcome == "failed" and "no secret" in (attempt.error or "")


async def test_an_inactive_department_gets_nothing(
    sessions: async_sessionmaker[AsyncSession], gateway: GatewayActivities, webhook_secret: str
) -> None:
    receiver = Receiver([Answer(200, "ok")])
    await add_department(sessions, "SQ-OLD", webhook_url=receiver.url, active=False)

    with receiver.running(), pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(gateway.deliver_push, a_push("SQ-OLD"))

    assert raised.value.type == "Rejected"
    assert raised.value.non_retryable
    assert "inactive" in raised.value.message
    assert receiver.requests == []


async def test_a_registry_change_reaches_the_departments_the_gateway_keeps(
    sessions: async_sessionmaker[AsyncSession], gateway: GatewayActivities
) -> None:
    """The gateway keeps the departments between registry changes; a registry write bumps the stamp, so the very
    next push sees the department it added (and the first lookup's kept copy is not served again)."""
    missing = a_push("SQ-LATE-BUREAU")
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(gateway.deliver_push, missing)
    assert raised.value.type == "NotFound"

    await add_department(sessions, "SQ-LATE-BUREAU", webhook_url=None)  # bumps the stamp, as the import does
    result = await ActivityEnvironment().run(gateway.deliver_push, a_push("SQ-LATE-BUREAU"))
    assert result.outcome is DeliveryOutcome.INBOXED
