"""The store-and-forward inbox as departments see it: read what waits for them, acknowledge what they took.

The methods are activities and plain async methods alike: the CLI and the SDK call them directly.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.store.delivery import InboxEntry, InboxRepository
from activities.store.registry import RegistryRepository
from schemas.delivery import InboxAcknowledgement, InboxItem, InboxPage, InboxQuery, PushKind

NOT_FOUND = "NotFound"


class InboxActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name="read_inbox")
    async def read_inbox(self, query: InboxQuery) -> InboxPage:
        """Unacknowledged items first, oldest first; acknowledged ones only when asked for."""
        async with self._sessions() as session:
            if await RegistryRepository(session).get_department(query.department_code) is None:
                raise ApplicationError(
                    f"department {query.department_code!r} does not exist in the registry",
                    type=NOT_FOUND,
                    non_retryable=True,
                )
            inbox = InboxRepository(session)
            entries = await inbox.list_for(query.department_code, query.include_acknowledged, query.limit)
            waiting = await inbox.count_unacknowledged(query.department_code)
        return InboxPage(
            department_code=query.department_code, items=[inbox_item(e) for e in entries], unacknowledged=waiting
        )

    @activity.defn(name="acknowledge_inbox_item")
    async def acknowledge_inbox_item(self, acknowledgement: InboxAcknowledgement) -> InboxItem:
        """Idempotent: acknowledging again returns the item as first acknowledged."""
        async with self._sessions.begin() as session:
            entry = await InboxRepository(session).acknowledge(
                acknowledgement.item_id, at=datetime.now(UTC), by=acknowledgement.acknowledged_by
            )
            if entry is None:
                raise ApplicationError(
                    f"inbox item {acknowledgement.item_id} does not exist", type=NOT_FOUND, non_retryable=True
                )
            return inbox_item(entry)


def inbox_item(entry: InboxEntry) -> InboxItem:
    return InboxItem(
        item_id=entry.id,
        push_id=entry.push_id,
        department_code=entry.department_code,
        kind=PushKind(entry.kind),
        subject_id=entry.subject_id,
        issued_at=entry.issued_at,
        received_at=entry.received_at,
        body=entry.body,
        acknowledged_at=entry.acknowledged_at,
        acknowledged_by=entry.acknowledged_by,
    )
