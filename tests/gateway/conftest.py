"""Fixtures of the gateway tests: departments in the registry, a webhook secret in the environment."""

from __future__ import annotations

import base64
import ipaddress
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.gateway.endpoints import WebhookPolicy
from activities.gateway.webhook_secrets import secret_env_name
from activities.store import stamps
from activities.store.registry import Department, RosterEntry
from schemas.delivery import Push, PushKind

SECRET_REF = "test-department-webhook"
SECRET_KEY = b"s3cret-shared-with-the-department-system"
# As the department holds it, and as the official Standard Webhooks libraries take it.
SECRET = "whsec_" + base64.b64encode(SECRET_KEY).decode()

# The receivers of these tests live on 127.0.0.1, which the URL rules refuse unless allowed.
LOCAL_RECEIVERS = WebhookPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),))


@pytest.fixture
def webhook_secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv(secret_env_name(SECRET_REF), SECRET)
    yield SECRET


async def add_department(
    sessions: async_sessionmaker[AsyncSession],
    code: str,
    webhook_url: str | None = None,
    secret_ref: str | None = SECRET_REF,
    active: bool = True,
    roster: list[RosterEntry] | None = None,
) -> None:
    async with sessions.begin() as session:
        session.add(
            Department(
                code=code,
                name=f"department {code}",
                level="city",
                webhook_url=webhook_url,
                secret_ref=secret_ref if webhook_url else None,
                active=active,
                updated_at=datetime.now(UTC),
            )
        )
        await session.flush()
        session.add_all(roster or [])
        await stamps.bump(session, stamps.REGISTRY)  # as the registry import does


def a_push(department_code: str, kind: PushKind = PushKind.HANDOFF_PUSH) -> Push:
    return Push(
        push_id=f"MATTER-7:SQ-2025-{uuid.uuid4().hex[:8]}:A2S:1",
        department_code=department_code,
        kind=kind,
        subject_id="handoff-SQ-2025-0001",
        issued_at=datetime(2025, 3, 4, 9, 30, tzinfo=UTC),
        body={"matter": "食品经营许可", "case_no": "SQ-2025-0001", "decision": "grant", "licence": ["JY1", 2]},
    )
