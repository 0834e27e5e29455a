"""Standard Webhooks v1 on every push, checked with the official verifier: the id inside the MAC, replays under a
fresh id refused, two signatures while a secret rotates, and secrets of the earlier scheme still working."""

from __future__ import annotations

import base64
import hmac
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.gateway.delivery import GatewayActivities
from activities.gateway.webhook_secrets import environment_secret, secret_env_name
from schemas.delivery import DeliveryOutcome
from tests.gateway.conftest import LOCAL_RECEIVERS, SECRET_KEY, SECRET_REF, a_push, add_department
from tests.gateway.department import DepartmentSystem, verify_deprecated_headers
from tests.gateway.receiver import Answer, Receiver

STANDARD_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def whsec(key: bytes) -> str:
    return "whsec_" + base64.b64encode(key).decode()


@pytest.fixture
async def gateway(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[GatewayActivities]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(2.0)) as http:
        yield GatewayActivities(sessions, http, environment_secret, LOCAL_RECEIVERS)


async def test_a_replay_under_a_fresh_id_fails_verification_and_a_true_retry_is_acted_on_once(
    sessions: async_sessionmaker[AsyncSession], gateway: GatewayActivities, webhook_secret: str
) -> None:
    department = DepartmentSystem(webhook_secret, [Answer(200, "stored")])
    await add_department(sessions, "SQ-SCJGJ", webhook_url=department.receiver.url)
    push = a_push("SQ-SCJGJ")

    with department.receiver.running():
        assert (await ActivityEnvironment().run(gateway.deliver_push, push)).outcome is DeliveryOutcome.DELIVERED
        [captured] = department.receiver.requests
        headers = {name: captured.headers[name] for name in ("content-type", *STANDARD_HEADERS)}
        async with httpx.AsyncClient() as attacker:
            again = await attacker.post(department.receiver.url, content=captured.body, headers=headers)
            fresh_id = f"{push.push_id}-{uuid.uuid4().hex[:6]}"
            replayed = await attacker.post(
                department.receiver.url, content=captured.body, headers={**headers, "webhook-id": fresh_id}
            )

    assert again.status_code == 200 and department.duplicates == 1, "a retry is acknowledged, not acted on again"
    assert replayed.status_code == 401, "the id is inside the MAC: a fresh id breaks the signature"
    assert list(department.stored) == [push.push_id]
    # Why the scheme changed: the deprecated headers leave the key a receiver de-duplicates by unsigned.
    assert verify_deprecated_headers(SECRET_KEY, {**captured.headers, "idempotency-key": fresh_id}, captured.body)


async def test_while_a_secret_rotates_each_push_carries_a_signature_under_both(
    sessions: async_sessionmaker[AsyncSession], gateway: GatewayActivities, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = whsec(b"o" * 32), whsec(b"n" * 32)
    monkeypatch.setenv(secret_env_name(SECRET_REF), f"{new} {old}")
    department = DepartmentSystem(old, [Answer(200, "ok")])  # the department has not switched yet
    await add_department(sessions, "SQ-RSJ", webhook_url=department.receiver.url)

    with department.receiver.running():
        await ActivityEnvironment().run(gateway.deliver_push, a_push("SQ-RSJ"))

    [request] = department.receiver.requests
    assert request.status == 200
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(request.body, request.headers, json_parse=False)  # and it may switch at any moment
    Webhook(old).verify(request.body, request.headers, json_parse=False)
    assert verify_deprecated_headers(b"n" * 32, request.headers, request.body), "the deprecated header: the first"


async def test_a_secret_of_the_earlier_scheme_signs_as_its_whsec_form(
    sessions: async_sessionmaker[AsyncSession], gateway: GatewayActivities, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(secret_env_name(SECRET_REF), "plain shared secret of 2024")
    department = DepartmentSystem(whsec(b"plain shared secret of 2024"), [Answer(204)])
    await add_department(sessions, "SQ-SLJ", webhook_url=department.receiver.url)

    with department.receiver.running():
        result = await ActivityEnvironment().run(gateway.deliver_push, a_push("SQ-SLJ"))

    assert (result.outcome, department.refused) == (DeliveryOutcome.DELIVERED, 0)
    [request] = department.receiver.requests
    assert verify_deprecated_headers(b"plain shared secret of 2024", request.headers, request.body)


def independent_v1(key: bytes, headers: dict[str, str], body: bytes) -> set[str]:
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    return {"v1," + base64.b64encode(hmac.digest(key, signed, "sha256")).decode()}


async def test_the_signed_content_is_id_dot_timestamp_dot_body(
    sessions: async_sessionmaker[AsyncSession], gateway: GatewayActivities, webhook_secret: str
) -> None:
    receiver = Receiver([Answer(200)])
    await add_department(sessions, "SQ-WJW", webhook_url=receiver.url)

    with receiver.running():
        await ActivityEnvironment().run(gateway.deliver_push, a_push("SQ-WJW"))

    [request] = receiver.requests
    assert request.headers["webhook-timestamp"].isdigit()
    assert set(request.headers["webhook-signature"].split(" ")) == independent_v1(
        SECRET_KEY, request.headers, request.body
    )


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("whsec_c2hvcnQ=", "has 5 bytes; Standard Webhooks asks for at least 24"),
        (f"{whsec(b'k' * 32)} whsec_not*base64", "secret 2 of 2 is not standard base64"),
        (f"{whsec(b'k' * 32)} plain", "secret 2 of 2 does not start with whsec_"),
        ("whsec_" + base64.b64encode(b"k" * 32).decode().rstrip("="), "is not standard base64"),
    ],
)
async def test_a_secret_that_cannot_sign_holds_the_push_and_names_the_variable_not_the_secret(
    sessions: async_sessionmaker[AsyncSession],
    gateway: GatewayActivities,
    monkeypatch: pytest.MonkeyPatch,
    value: str,
    rule: str,
) -> None:
    monkeypatch.setenv(secret_env_name(SECRET_REF), value)
    receiver = Receiver([Answer(200)])
    await add_department(sessions, "SQ-ZJJ", webhook_url=receiver.url)

    with receiver.running(), pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(gateway.deliver_push, a_push("SQ-ZJJ"))

    assert raised.value.type == "DeliveryMisconfigured" and not raised.value.non_retryable
    assert "CASELOOP_SECRET_TEST_DEPARTMENT_WEBHOOK cannot sign" in raised.value.message
    assert rule in raised.value.message
    assert not any(word in raised.value.message for word in value.split()), "the secret is never repeated"
    assert receiver.requests == []
