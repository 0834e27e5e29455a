"""The intake tables: channels as the registry imports them, and every channel record taken in, with its case.

A record row is written once per (channel, record number): a repeat finds it and starts nothing. The requester's
contact, the verification code and the progress lines are sealed at rest.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, String, false, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from activities.store.base import Base, SealedText

CODE = String(64)


class IntakeChannel(Base):
    """An intake channel (docs/intake.md): who feeds it, how its records map, and whether its system hears back."""

    __tablename__ = "intake_channels"
    __table_args__ = (CheckConstraint("kind IN ('hotline', 'rating', 'window', 'prepaid_card')", name="kind"),)

    code: Mapped[str] = mapped_column(CODE, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    department_code: Mapped[str] = mapped_column(CODE, ForeignKey("departments.code"), index=True)
    pushes: Mapped[bool] = mapped_column(Boolean, default=False)
    categories: Mapped[dict[str, str]] = mapped_column(JSON)
    localities: Mapped[dict[str, str]] = mapped_column(JSON)
    address_localities: Mapped[dict[str, str]] = mapped_column(JSON)
    unplaced_matter: Mapped[str] = mapped_column(CODE, ForeignKey("collaboration_matters.code"))
    unplaced_locality: Mapped[str] = mapped_column(CODE, ForeignKey("departments.code"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime]


class IntakeRecord(Base):
    """One channel record taken in, and the case it became."""

    __tablename__ = "intake_records"
    __table_args__ = (CheckConstraint("contact_kind IN ('mobile', 'user_id')", name="contact_kind"),)

    channel_code: Mapped[str] = mapped_column(CODE, ForeignKey("intake_channels.code"), primary_key=True)
    record_number: Mapped[str] = mapped_column(CODE, primary_key=True)
    case_id: Mapped[str] = mapped_column(String(200), unique=True)
    matter_code: Mapped[str] = mapped_column(CODE)
    locality_code: Mapped[str] = mapped_column(CODE)
    placed: Mapped[bool] = mapped_column(Boolean)
    unplaced_reason: Mapped[str | None] = mapped_column(
        String(500)
    )  # clear: codes that matched nothing, never the address
    contact_kind: Mapped[str | None] = mapped_column(String(16))
    contact: Mapped[str | None] = mapped_column(SealedText("intake_records.contact"))  # a mobile or a user id
    consent_at: Mapped[datetime | None]
    # Given to the requester with the case id; with it the public status lookup answers.
    verification_code: Mapped[str] = mapped_column(SealedText("intake_records.verification_code"))
    # What the requester last heard of, as the status lookup answers it.
    last_event: Mapped[str | None] = mapped_column(String(32))
    last_event_at: Mapped[datetime | None]
    last_progress: Mapped[str | None] = mapped_column(SealedText("intake_records.last_progress"))
    received_at: Mapped[datetime]
    created_at: Mapped[datetime]


class IntakeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def channel(self, code: str) -> IntakeChannel | None:
        return await self._session.get(IntakeChannel, code)

    async def channels(self) -> Sequence[IntakeChannel]:
        return (await self._session.scalars(select(IntakeChannel).order_by(IntakeChannel.code))).all()

    async def record(self, channel_code: str, record_number: str) -> IntakeRecord | None:
        return await self._session.get(IntakeRecord, (channel_code, record_number))

    async def record_of_case(self, case_id: str) -> IntakeRecord | None:
        return await self._session.scalar(select(IntakeRecord).where(IntakeRecord.case_id == case_id))

    async def records_for_period(
        self, start: datetime, end: datetime, case_ids: Collection[str]
    ) -> Sequence[IntakeRecord]:
        """Records taken in within [start, end), and those of the given cases (closed in it, say)."""
        taken = (IntakeRecord.created_at >= start) & (IntakeRecord.created_at < end)
        of_cases = IntakeRecord.case_id.in_(list(case_ids)) if case_ids else false()
        return (await self._session.scalars(select(IntakeRecord).where(taken | of_cases))).all()

    def add_record(self, **values: Any) -> IntakeRecord:
        row = IntakeRecord(**values)
        self._session.add(row)
        return row
