"""Departments working for each other: the registry's shared data items, scheduled deliveries and joint matters,
and what their runs record (verification calls, delivery days, joint handlings).

The registry rows are written by the registry import (services.registry.collaboration); the records by the verify
activity and by the delivery and joint workflows' store activities, each keyed so that a retry writes once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from activities.store.base import Base, SealedText


class SharedItemRow(Base):
    """A shared data item (共享數據項): which department's system answers it, where, and who may ask."""

    __tablename__ = "shared_items"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    department_code: Mapped[str] = mapped_column(String(64), index=True)
    system: Mapped[str] = mapped_column(String(100))
    endpoint_url: Mapped[str] = mapped_column(String(500))
    secret_ref: Mapped[str | None] = mapped_column(String(100))
    timeout_seconds: Mapped[float]
    grantees: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]


class ScheduledDeliveryRow(Base):
    """Who delivers what to whom, on which calendar, by what local time."""

    __tablename__ = "scheduled_deliveries"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    deliverer: Mapped[str] = mapped_column(String(64), index=True)
    receiver: Mapped[str] = mapped_column(String(64))
    calendar: Mapped[str] = mapped_column(String(24))
    due: Mapped[str] = mapped_column(String(5))  # HH:MM, Asia/Shanghai
    missing_after: Mapped[str] = mapped_column(String(5))  # HH:MM: still nothing then closes the day as missing
    max_records: Mapped[int]
    pull_url: Mapped[str | None] = mapped_column(String(500))
    pull_at: Mapped[str | None] = mapped_column(String(5))
    secret_ref: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]
    # The limit the ladder's supervision order to the deliverer gives it (`<amount> <unit>`); null: the default.
    order_limit: Mapped[str | None] = mapped_column(String(40), default=None)


class JointMatterRow(Base):
    """A "one thing" (一件事) matter: department steps with their dependencies and limits, validated at import."""

    __tablename__ = "joint_matters"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]


class VerificationCall(Base):
    """One attempt of one verification call; digests of question and answer, never either in clear."""

    __tablename__ = "verification_calls"
    __table_args__ = (
        UniqueConstraint("call_id", "asking_department", "attempt", name="uq_verification_calls_attempt"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(String(200))
    attempt: Mapped[int]
    item_code: Mapped[str] = mapped_column(String(64), index=True)
    asking_department: Mapped[str] = mapped_column(String(64), index=True)
    answering_department: Mapped[str] = mapped_column(String(64))
    system: Mapped[str] = mapped_column(String(100))
    purpose_kind: Mapped[str] = mapped_column(String(24))
    purpose_id: Mapped[str] = mapped_column(String(200))
    question_digest: Mapped[str] = mapped_column(String(64))
    answer_digest: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(24))
    status_code: Mapped[int | None]
    # Clear: our own words on why a call failed (a rule, an HTTP status, why an answer was not trusted); the question
    # and the answer, which are personal, are kept only as keyed digests above.
    detail: Mapped[str | None] = mapped_column(Text)
    called_at: Mapped[datetime]


class DeliveryDay(Base):
    """One expected delivery on one working day, as its workflow last wrote it (the version orders the writes)."""

    __tablename__ = "delivery_days"

    delivery_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    deliverer: Mapped[str] = mapped_column(String(64), index=True)
    receiver: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    late: Mapped[bool] = mapped_column(Boolean)
    records: Mapped[int]
    digest: Mapped[str | None] = mapped_column(String(64))
    rejections: Mapped[int]
    version: Mapped[int]
    updated_at: Mapped[datetime]


class JointHandling(Base):
    """One "one thing" application, as its workflow last wrote it: the steps' states in one document."""

    __tablename__ = "joint_handlings"

    joint_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    matter_code: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    steps: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int]
    updated_at: Mapped[datetime]


class JointStatusCode(Base):
    """The verification code a joint application's applicant is given for the public status lookup, sealed."""

    __tablename__ = "joint_status_codes"

    joint_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    verification_code: Mapped[str] = mapped_column(SealedText("joint_status_codes.verification_code"))
    created_at: Mapped[datetime]


class CollaborationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, row: Base) -> None:
        self._session.add(row)

    async def shared_item(self, code: str) -> SharedItemRow | None:
        return await self._session.get(SharedItemRow, code, populate_existing=True)

    async def shared_items(self) -> Sequence[SharedItemRow]:
        return (await self._session.scalars(select(SharedItemRow).order_by(SharedItemRow.code))).all()

    async def scheduled_delivery(self, code: str) -> ScheduledDeliveryRow | None:
        return await self._session.get(ScheduledDeliveryRow, code, populate_existing=True)

    async def scheduled_deliveries(self) -> Sequence[ScheduledDeliveryRow]:
        query = select(ScheduledDeliveryRow).order_by(ScheduledDeliveryRow.code)
        return (await self._session.scalars(query)).all()

    async def joint_matter(self, code: str) -> JointMatterRow | None:
        return await self._session.get(JointMatterRow, code, populate_existing=True)

    async def joint_status_code(self, joint_id: str) -> JointStatusCode | None:
        return await self._session.get(JointStatusCode, joint_id, populate_existing=True)

    async def joint_matters(self) -> Sequence[JointMatterRow]:
        return (await self._session.scalars(select(JointMatterRow).order_by(JointMatterRow.code))).all()

    async def verification_calls(self, call_id: str) -> Sequence[VerificationCall]:
        query = select(VerificationCall).where(VerificationCall.call_id == call_id).order_by(VerificationCall.attempt)
        return (await self._session.scalars(query)).all()

    async def delivery_day(self, code: str, day: date) -> DeliveryDay | None:
        return await self._session.get(DeliveryDay, (code, day), populate_existing=True)

    async def delivery_days_between(self, first: date, last: date) -> Sequence[DeliveryDay]:
        """Every recorded day from `first` to `last` inclusive, by entry and day."""
        query = (
            select(DeliveryDay)
            .where(DeliveryDay.day >= first, DeliveryDay.day <= last)
            .order_by(DeliveryDay.delivery_code, DeliveryDay.day)
        )
        return (await self._session.scalars(query)).all()

    async def joint_handling(self, joint_id: str) -> JointHandling | None:
        return await self._session.get(JointHandling, joint_id, populate_existing=True)

    async def write_versioned(self, row: DeliveryDay | JointHandling) -> bool:
        """Writes the snapshot unless the stored one is as new or newer; True when it wrote."""
        key = (row.delivery_code, row.day) if isinstance(row, DeliveryDay) else row.joint_id
        stored: DeliveryDay | JointHandling | None = await self._session.get(type(row), key, populate_existing=True)
        if stored is None:
            self._session.add(row)
            return True
        if stored.version >= row.version:
            return False
        for column in type(row).__table__.columns:
            setattr(stored, column.key, getattr(row, column.key))
        return True


async def joint_status_code_of(
    sessions: async_sessionmaker[AsyncSession], joint_id: str, make: Callable[[], str]
) -> str:
    """The application's status code, made on first need: by the door's opening answer or by the applicant's opening
    SMS, whichever comes first; the same for both and on every retry (a race: the first one written)."""
    async with sessions() as session:
        found = await CollaborationRepository(session).joint_status_code(joint_id)
    if found is not None:
        return found.verification_code
    try:
        async with sessions.begin() as session:
            session.add(JointStatusCode(joint_id=joint_id, verification_code=make(), created_at=datetime.now(UTC)))
    except IntegrityError:
        pass  # another opening of the same application made it first
    async with sessions() as session:
        made = await CollaborationRepository(session).joint_status_code(joint_id)
    assert made is not None
    return made.verification_code
