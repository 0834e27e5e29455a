"""Delivery ledger: every attempt to reach a department, and the store-and-forward inbox of departments
without a webhook."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, case, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column
from temporalio import activity

from activities.store.base import Base, SealedJSON
from activities.store.group_commit import GroupCommit
from schemas.delivery import Push


class DeliveryChannel(StrEnum):
    WEBHOOK = "webhook"
    INBOX = "inbox"
    NONE = "none"


class AttemptOutcome(StrEnum):
    DELIVERED = "delivered"
    INBOXED = "inboxed"
    FAILED = "failed"  # retried by Temporal
    REJECTED = "rejected"  # the department refused it for good
    UNKNOWN_DEPARTMENT = "unknown_department"


class DeliveryAttempt(Base):
    """One activity attempt to deliver one push; never updated, so retries leave a readable trail."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    push_id: Mapped[str] = mapped_column(String(200), index=True)
    # Kept as plain text: the trail outlives registry changes and records pushes to unknown departments too.
    department_code: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int]
    channel: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(24))
    status_code: Mapped[int | None]
    # Clear: the gateway's own account of a failed attempt (a refused address, an HTTP status, a problem's title),
    # never the package, which is sealed where it waits (inbox.body).
    error: Mapped[str | None] = mapped_column(Text)
    workflow_id: Mapped[str | None] = mapped_column(String(255))
    attempted_at: Mapped[datetime]


class InboxEntry(Base):
    """A push waiting for a department that has no webhook; it reads and acknowledges it."""

    __tablename__ = "inbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    push_id: Mapped[str] = mapped_column(String(200), unique=True)
    department_code: Mapped[str] = mapped_column(String(64), ForeignKey("departments.code"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime]
    received_at: Mapped[datetime]
    body: Mapped[dict[str, Any]] = mapped_column(SealedJSON("inbox.body"))  # the push package, personal data
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))  # clear: a staff account id, as audit actor_id


def attempt_of(
    push: Push,
    channel: DeliveryChannel,
    outcome: AttemptOutcome,
    at: datetime,
    *,
    status_code: int | None = None,
    error: str | None = None,
) -> DeliveryAttempt:
    """The delivery ledger's row of one attempt at `push`, numbered as the activity that makes it."""
    info = activity.info() if activity.in_activity() else None
    return DeliveryAttempt(
        push_id=push.push_id,
        department_code=push.department_code,
        attempt=info.attempt if info else 1,
        channel=channel.value,
        outcome=outcome.value,
        status_code=status_code,
        error=error,
        workflow_id=info.workflow_id if info else push.subject_id,
        attempted_at=at,
    )


async def put_in_inboxes(session: AsyncSession, pushes: list[tuple[Push, DeliveryAttempt]]) -> None:
    """Each push in its department's inbox with its attempt, in the transaction of `session` (once per push: one
    already there stays as it is)."""
    if pushes:
        rows = [(InboxRepository.row_of(push, attempt.attempted_at), attempt) for push, attempt in pushes]
        await _inbox_and_attempts(session, rows)


async def _add_attempts(session: AsyncSession, attempts: list[DeliveryAttempt]) -> list[None]:
    """The attempts in one bulk INSERT: added to the session, the ORM would flush one INSERT per row (each a hop to
    the driver's thread while the write lock is held)."""
    columns = [column.key for column in DeliveryAttempt.__table__.columns if column.key != "id"]
    rows = [{column: getattr(attempt, column) for column in columns} for attempt in attempts]
    await session.execute(insert(DeliveryAttempt), rows)
    return [None] * len(attempts)


class AttemptRecorder(GroupCommit[DeliveryAttempt, None]):
    """Delivery attempts that arrive together, written in one transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessions.begin, _add_attempts)


async def _inbox_and_attempts(session: AsyncSession, items: list[tuple[dict[str, Any], DeliveryAttempt]]) -> list[None]:
    await InboxRepository(session).store_many([values for values, _ in items])
    return await _add_attempts(session, [attempt for _, attempt in items])


class InboxRecorder(GroupCommit[tuple[dict[str, Any], DeliveryAttempt], None]):
    """Pushes put in their departments' inboxes together, each with its attempt, in one transaction: at the 17:30
    instant every red card's push to a department without a webhook arrives at once."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessions.begin, _inbox_and_attempts)


class DeliveryAttemptRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, attempt: DeliveryAttempt) -> None:
        self._session.add(attempt)
        await self._session.flush()

    async def for_push(self, push_id: str) -> Sequence[DeliveryAttempt]:
        rows = await self._session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.push_id == push_id)
            .order_by(DeliveryAttempt.attempted_at, DeliveryAttempt.id)
        )
        return rows.all()


class InboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def by_push_id(self, push_id: str) -> InboxEntry | None:
        return await self._session.scalar(select(InboxEntry).where(InboxEntry.push_id == push_id))

    async def get(self, item_id: int) -> InboxEntry | None:
        return await self._session.get(InboxEntry, item_id)

    @staticmethod
    def row_of(push: Push, received_at: datetime) -> dict[str, Any]:
        """The inbox row that holds `push` for its department, as `store` and `store_many` take it."""
        return {
            "push_id": push.push_id,
            "department_code": push.department_code,
            "kind": push.kind.value,
            "subject_id": push.subject_id,
            "issued_at": push.issued_at,
            "received_at": received_at,
            "body": push.body,
        }

    async def store(self, values: dict[str, Any]) -> InboxEntry:
        """Adds the push unless it is already there (concurrent attempts too); returns the row holding it."""
        await self.store_many([values])
        return (await self._session.scalars(select(InboxEntry).where(InboxEntry.push_id == values["push_id"]))).one()

    async def store_many(self, rows: list[dict[str, Any]]) -> None:
        """Adds each push unless it is already there, in one statement; reads nothing back."""
        insert = postgresql.insert if self._session.get_bind().dialect.name == "postgresql" else sqlite.insert
        await self._session.execute(
            insert(InboxEntry).values(rows).on_conflict_do_nothing(index_elements=[InboxEntry.push_id])
        )

    async def list_for(self, department_code: str, include_acknowledged: bool, limit: int) -> Sequence[InboxEntry]:
        query = select(InboxEntry).where(InboxEntry.department_code == department_code)
        if not include_acknowledged:
            query = query.where(InboxEntry.acknowledged_at.is_(None))
        unacknowledged_first = case((InboxEntry.acknowledged_at.is_(None), 0), else_=1)
        query = query.order_by(unacknowledged_first, InboxEntry.received_at, InboxEntry.id).limit(limit)
        return (await self._session.scalars(query)).all()

    async def count_unacknowledged(self, department_code: str) -> int:
        count = await self._session.scalar(
            select(func.count())
            .select_from(InboxEntry)
            .where(InboxEntry.department_code == department_code, InboxEntry.acknowledged_at.is_(None))
        )
        return count or 0

    async def acknowledge(self, item_id: int, at: datetime, by: str) -> InboxEntry | None:
        """Marks the item acknowledged once; acknowledging it again keeps the first time and reader."""
        await self._session.execute(
            update(InboxEntry)
            .where(InboxEntry.id == item_id, InboxEntry.acknowledged_at.is_(None))
            .values(acknowledged_at=at, acknowledged_by=by)
        )
        return await self._session.get(InboxEntry, item_id, populate_existing=True)
