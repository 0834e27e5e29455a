"""The requester activity on its own: it records what the status lookup answers, texts a mobile on file (masked in
its log) and nobody else, and waits for an intake record that is not written yet."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.intake.requester import RequesterActivities
from activities.notify.providers import SmsMessage
from activities.store.intake import IntakeRepository
from schemas.delivery import SmsNotification
from services.registry.sample import load_sample_registry_if_empty

AT = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


class Recording:
    name = "recording"

    def __init__(self) -> None:
        self.sent: list[SmsMessage] = []

    async def send(self, message: SmsMessage) -> None:
        self.sent.append(message)


def notice(case_id: str, event: str, **variables: str) -> SmsNotification:
    return SmsNotification(
        notification_id=f"{case_id}.s1",
        department_code="SQ-12345",
        template_id=f"requester_{event}",
        variables={"case_id": case_id, "event": event, "at": AT.isoformat(), **variables},
        to_requester=True,
    )


async def record(sessions: async_sessionmaker[AsyncSession], case_id: str, kind: str, contact: str) -> None:
    async with sessions.begin() as session:
        IntakeRepository(session).add_record(
            channel_code="12345",
            record_number=case_id,
            case_id=case_id,
            matter_code="SQ-12345-SZ",
            locality_code="SQ-SCQ",
            placed=True,
            contact_kind=kind,
            contact=contact,
            consent_at=AT,
            verification_code="K7QW3ZPA",
            received_at=AT,
            created_at=AT,
        )


async def test_a_mobile_is_texted_and_masked_in_the_log(
    sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    await load_sample_registry_if_empty(sessions)
    await record(sessions, "C-MOBILE", "mobile", "13912345678")
    provider = Recording()
    activities = RequesterActivities(sessions, provider)
    with caplog.at_level(logging.INFO):
        await ActivityEnvironment().run(activities.text_requester, notice("C-MOBILE", "launched"))
        await ActivityEnvironment().run(activities.text_requester, notice("C-MOBILE", "progress", progress="過半"))
    assert [message.phones for message in provider.sent] == [("13912345678",), ("13912345678",)]
    assert provider.sent[0].variables["verification_code"] == "K7QW3ZPA"
    assert "verification_code" not in provider.sent[1].variables
    told = [entry for entry in caplog.records if entry.getMessage().startswith("requester told")]
    assert [entry.__dict__["to"] for entry in told] == ["139****5678", "139****5678"]
    assert all("13912345678" not in str(entry.__dict__) for entry in caplog.records)
    async with sessions() as session:
        row = await IntakeRepository(session).record_of_case("C-MOBILE")
    assert row is not None and (row.last_event, row.last_progress) == ("progress", "過半")


async def test_a_platform_user_is_told_by_the_channel_not_by_sms(sessions: async_sessionmaker[AsyncSession]) -> None:
    await load_sample_registry_if_empty(sessions)
    await record(sessions, "C-USER", "user_id", "app-user-42")
    provider = Recording()
    result = await ActivityEnvironment().run(
        RequesterActivities(sessions, provider).text_requester, notice("C-USER", "progress", progress="已派員")
    )
    assert provider.sent == [] and result.provider == "none"
    async with sessions() as session:
        row = await IntakeRepository(session).record_of_case("C-USER")
    assert row is not None and row.last_progress == "已派員"


async def test_an_event_before_its_intake_record_is_retried(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(ApplicationError) as waiting:
        await ActivityEnvironment().run(
            RequesterActivities(sessions, Recording()).text_requester, notice("C-NONE", "launched")
        )
    assert waiting.value.type == "NotFound" and not waiting.value.non_retryable
