"""The SMS activity: tells a department's roster people about a push, resolving their numbers from the roster.

Workflows name the department and the matter, never a person or a number: personal data stays in the store.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notify.providers import SmsMessage, SmsProvider
from activities.store.registry import DepartmentDirectory, RegistryRepository, RosterEntry
from schemas.delivery import SmsNotification, SmsResult

NOT_FOUND = "NotFound"
LIAISON = "liaison"


class SmsActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], provider: SmsProvider) -> None:
        self._sessions = sessions
        self._provider = provider
        self._directory = DepartmentDirectory()  # kept between registry changes

    @activity.defn(name="send_sms")
    async def send_sms(self, notification: SmsNotification) -> SmsResult:
        code, matter = notification.department_code, notification.matter_code
        async with self._sessions() as session:
            registry = RegistryRepository(session)
            if await self._directory.get(session, code) is None:
                raise ApplicationError(
                    f"sms {notification.notification_id}: department {code!r} does not exist in the registry",
                    type=NOT_FOUND,
                    non_retryable=True,
                )
            recipients = [(entry.role, entry.phone) for entry in recipients_of(await registry.roster_for(code, matter))]
        if not recipients:
            raise ApplicationError(
                f"sms {notification.notification_id}: department {code!r} has nobody with a phone on its roster"
                + (f" for matter {matter!r}" if matter else ""),
                type=NOT_FOUND,
                non_retryable=True,
            )
        phones = tuple(dict.fromkeys(phone.strip() for _, phone in recipients))  # one SMS per number
        await self._provider.send(
            SmsMessage(
                idempotency_key=notification.notification_id,
                phones=phones,
                template_id=notification.template_id,
                variables=notification.variables,
            )
        )
        return SmsResult(
            notification_id=notification.notification_id,
            provider=self._provider.name,
            recipients=len(phones),
            roles=sorted({role for role, _ in recipients}),
        )


def recipients_of(roster: Sequence[RosterEntry]) -> list[RosterEntry]:
    """The people named for the matter, else the department-wide ones; of those the liaisons, else the backups.

    The roster comes matter-specific first, then department-wide, liaison before backup.
    """
    reachable = [entry for entry in roster if entry.phone.strip()]
    specific = [entry for entry in reachable if entry.matter_code is not None]
    scope = specific or reachable
    liaisons = [entry for entry in scope if entry.role == LIAISON]
    return liaisons or scope
