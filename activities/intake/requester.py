"""Telling the requester of a channel case: the status lookup's last event (and progress line) recorded, and an SMS
from a template to the mobile the intake store holds (sealed), sent with the consent the channel recorded.

The workflow names the case and the event, never the contact. A requester known only by a platform user id gets
no SMS: the channel's system hears of the event by its own push and tells its user.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.metrics import REQUESTER_NOTICES
from activities.notify.providers import SmsMessage, SmsProvider, mask_phone
from activities.store.intake import IntakeRepository
from schemas.delivery import SmsNotification, SmsResult
from schemas.intake import RequesterEvent

NOT_FOUND = "NotFound"


class RequesterActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], provider: SmsProvider) -> None:
        self._sessions = sessions
        self._provider = provider

    @activity.defn(name="text_requester")
    async def text_requester(self, notification: SmsNotification) -> SmsResult:
        case_id = notification.variables.get("case_id", "")
        event = notification.variables.get("event")
        async with self._sessions.begin() as session:
            row = await IntakeRepository(session).record_of_case(case_id)
            if row is None:
                # Retried: the door writes the record just after the case starts, so an early event may come first.
                raise ApplicationError(
                    f"sms {notification.notification_id}: no intake record for case {case_id!r} yet", type=NOT_FOUND
                )
            # The status lookup answers what the requester last heard.
            if event is not None:
                row.last_event = event
                row.last_event_at = datetime.fromisoformat(notification.variables["at"])
            if event == RequesterEvent.PROGRESS.value and "progress" in notification.variables:
                row.last_progress = notification.variables["progress"]
            kind, contact, code = row.contact_kind, row.contact, row.verification_code
            channel = row.channel_code
        if kind != "mobile" or contact is None:
            REQUESTER_NOTICES.labels(channel=channel, event=event or "-", by="channel").inc()
            activity.logger.info(
                "requester has no mobile: the channel tells its user", extra={"sms_id": notification.notification_id}
            )
            return SmsResult(
                notification_id=notification.notification_id, provider="none", recipients=1, roles=["requester"]
            )
        variables = dict(notification.variables)
        if event == RequesterEvent.LAUNCHED.value:
            variables["verification_code"] = code  # the launch SMS gives the requester the code for the lookup
        await self._provider.send(
            SmsMessage(
                idempotency_key=notification.notification_id,
                phones=(contact,),
                template_id=notification.template_id,
                variables=variables,
            )
        )
        REQUESTER_NOTICES.labels(channel=channel, event=event or "-", by="sms").inc()
        activity.logger.info(
            "requester told",
            extra={"sms_id": notification.notification_id, "event": event, "to": mask_phone(contact)},
        )
        return SmsResult(
            notification_id=notification.notification_id,
            provider=self._provider.name,
            recipients=1,
            roles=["requester"],
        )
