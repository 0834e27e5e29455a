"""SMS to roster people: numbers from the registry, the HTTP platform on a real server, the logging provider."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notify.providers import (
    HttpSmsProvider,
    LoggingSmsProvider,
    SmsProvider,
    mask_phone,
    sms_provider_for,
)
from activities.notify.sms import SmsActivities
from activities.store.registry import CollaborationMatter, RosterEntry
from schemas.delivery import SmsNotification, SmsResult
from tests.gateway.conftest import add_department
from tests.gateway.receiver import Answer, Receiver
from workers.settings import Settings

DEPARTMENT = "SQ-SCJGJ"
MATTER = "SQ-FOOD-LICENCE"
LIAISON_PHONE = "13800001111"
BACKUP_PHONE = "13800002222"
MATTER_LIAISON_PHONE = "13900003333"
API_KEY = "platform-key"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(2.0)) as client:
        yield client


@pytest.fixture
async def rostered(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The market regulator: a liaison and a backup for every matter, and a liaison of its own for food licences."""
    async with sessions.begin() as session:
        session.add(
            CollaborationMatter(
                code=MATTER,
                name="食品经营许可",
                kind="approval_supervision",
                trigger="case_closed",
                claim_mode="on_push",
                card_profile="default",
                max_extensions=1,
                active=True,
                updated_at=datetime.now(UTC),
            )
        )
    await add_department(
        sessions,
        DEPARTMENT,
        roster=[
            RosterEntry(
                department_code=DEPARTMENT, matter_code=None, role="backup", person_name="李四", phone=BACKUP_PHONE
            ),
            RosterEntry(
                department_code=DEPARTMENT, matter_code=None, role="liaison", person_name="张三", phone=LIAISON_PHONE
            ),
            RosterEntry(
                department_code=DEPARTMENT,
                matter_code=MATTER,
                role="liaison",
                person_name="王五",
                phone=MATTER_LIAISON_PHONE,
            ),
        ],
    )


def notification(matter_code: str | None = None, department_code: str = DEPARTMENT) -> SmsNotification:
    return SmsNotification(
        notification_id=f"sms:{department_code}:{matter_code}:handoff-1",
        department_code=department_code,
        matter_code=matter_code,
        template_id="SMS_HANDOFF_PUSHED",
        variables={"case_no": "SQ-2025-0001", "deadline": "2025-03-06 17:30"},
    )


async def send(sessions: async_sessionmaker[AsyncSession], provider: SmsProvider, sms: SmsNotification) -> SmsResult:
    return await ActivityEnvironment().run(SmsActivities(sessions, provider).send_sms, sms)


async def test_the_platform_gets_the_roster_numbers_never_the_workflows(
    sessions: async_sessionmaker[AsyncSession], rostered: None, http: httpx.AsyncClient
) -> None:
    receiver = Receiver([Answer(200, '{"accepted": true}')])
    provider = HttpSmsProvider(http, receiver.url, SecretStr(API_KEY))

    with receiver.running():
        for_matter = await send(sessions, provider, notification(MATTER))
        for_department = await send(sessions, provider, notification())

    matter_request, department_request = receiver.requests
    assert json.loads(matter_request.body) == {
        "template_id": "SMS_HANDOFF_PUSHED",
        "phones": [MATTER_LIAISON_PHONE],
        "variables": {"case_no": "SQ-2025-0001", "deadline": "2025-03-06 17:30"},
    }
    assert json.loads(department_request.body)["phones"] == [LIAISON_PHONE]
    assert matter_request.headers["idempotency-key"] == notification(MATTER).notification_id
    assert matter_request.headers["authorization"] == f"Bearer {API_KEY}"
    assert for_matter == SmsResult(
        notification_id=notification(MATTER).notification_id, provider="http", recipients=1, roles=["liaison"]
    )
    assert for_department.recipients == 1
    assert LIAISON_PHONE not in for_department.model_dump_json(), "phone numbers never enter workflow history"


async def test_backups_are_reached_when_no_liaison_is_named(
    sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient
) -> None:
    await add_department(
        sessions,
        "SQ-ZJJ",
        roster=[RosterEntry(department_code="SQ-ZJJ", role="backup", person_name="赵六", phone=BACKUP_PHONE)],
    )
    receiver = Receiver([Answer(200)])

    with receiver.running():
        result = await send(sessions, HttpSmsProvider(http, receiver.url), notification(department_code="SQ-ZJJ"))

    assert json.loads(receiver.requests[0].body)["phones"] == [BACKUP_PHONE]
    assert "authorization" not in receiver.requests[0].headers
    assert result.roles == ["backup"]


async def test_platform_faults_are_retried_and_refusals_are_final_without_numbers_in_clear(
    sessions: async_sessionmaker[AsyncSession], rostered: None, http: httpx.AsyncClient
) -> None:
    receiver = Receiver([Answer(503, "busy"), Answer(400, f"invalid template for {LIAISON_PHONE}")])
    provider = HttpSmsProvider(http, receiver.url)

    with receiver.running():
        with pytest.raises(ApplicationError) as busy:
            await send(sessions, provider, notification())
        with pytest.raises(ApplicationError) as refused:
            await send(sessions, provider, notification())

    assert (busy.value.type, busy.value.non_retryable) == ("DeliveryFailed", False)
    assert (refused.value.type, refused.value.non_retryable) == ("DeliveryRejected", True)
    assert "HTTP 400" in refused.value.message and "invalid template" in refused.value.message
    assert LIAISON_PHONE not in refused.value.message and mask_phone(LIAISON_PHONE) in refused.value.message


async def test_the_logging_provider_sends_nothing_and_masks_numbers(
    sessions: async_sessionmaker[AsyncSession], rostered: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        result = await send(sessions, LoggingSmsProvider(), notification())

    assert result.provider == "logging"
    [record] = [r for r in caplog.records if r.getMessage().startswith("sms logged")]
    assert record.to == [mask_phone(LIAISON_PHONE)]  # type: ignore[attr-defined]
    assert LIAISON_PHONE not in str(record.__dict__)


async def test_no_department_or_nobody_on_the_roster_is_not_found(sessions: async_sessionmaker[AsyncSession]) -> None:
    await add_department(sessions, "SQ-EMPTY")

    with pytest.raises(ApplicationError) as unknown:
        await send(sessions, LoggingSmsProvider(), notification(department_code="SQ-NOWHERE"))
    with pytest.raises(ApplicationError) as nobody:
        await send(sessions, LoggingSmsProvider(), notification(department_code="SQ-EMPTY"))

    assert (unknown.value.type, unknown.value.non_retryable) == ("NotFound", True)
    assert "'SQ-NOWHERE'" in unknown.value.message
    assert (nobody.value.type, nobody.value.non_retryable) == ("NotFound", True)
    assert "'SQ-EMPTY' has nobody with a phone" in nobody.value.message


async def test_settings_choose_the_provider(http: httpx.AsyncClient) -> None:
    assert isinstance(sms_provider_for(Settings(), http), LoggingSmsProvider)
    chosen = sms_provider_for(Settings(sms_provider="http", sms_url="https://sms.example.gov.cn/send"), http)
    assert isinstance(chosen, HttpSmsProvider)
    with pytest.raises(ValidationError, match="sms_url is required"):
        Settings(sms_provider="http")


def test_phone_numbers_are_masked() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+8613812345678") == "+86*******5678"
    assert mask_phone("12345") == "***45"
