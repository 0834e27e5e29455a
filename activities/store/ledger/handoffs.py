"""The hand-off read model: one row per push and its loop (claim, feedback, closed), rewritten per transition."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Index, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from activities.store.base import Base
from activities.store.ledger.idempotent import upsert_if_newer
from schemas.ledger import HandoffRecordView, HandoffSnapshot


class HandoffRecord(Base):
    __tablename__ = "handoff_records"

    handoff_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    matter_code: Mapped[str] = mapped_column(String(64), index=True)
    direction: Mapped[str] = mapped_column(String(40))
    stage: Mapped[str] = mapped_column(String(40), index=True)
    source_department: Mapped[str] = mapped_column(String(64))
    target_department: Mapped[str | None] = mapped_column(String(64), index=True)
    # Clear: the source department's own case number, which it looks its hand-offs up by; it names no one.
    source_case_number: Mapped[str | None] = mapped_column(String(200))
    locality: Mapped[str | None] = mapped_column(String(64))
    push_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    pushed_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    feedback_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    next_due_at: Mapped[datetime | None]
    next_due_step: Mapped[str | None] = mapped_column(String(40))
    # The colour it publishes as CaseloopSlaColour; None for a row last written before it was kept (0022).
    sla_colour: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]

    def to_view(self, applied: bool = False) -> HandoffRecordView:
        return HandoffRecordView.model_validate(
            {column.key: getattr(self, column.key) for column in HandoffRecord.__table__.columns} | {"applied": applied}
        )


# What the metrics collector groups at every scrape (workers/collectors.py), over the open loops only.
Index(
    "ix_handoff_records_open",
    HandoffRecord.stage,
    HandoffRecord.sla_colour,
    HandoffRecord.target_department,
    HandoffRecord.locality,
    HandoffRecord.next_due_at,
    postgresql_where=HandoffRecord.closed_at.is_(None),
    sqlite_where=HandoffRecord.closed_at.is_(None),
)


class HandoffRecordRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def save(self, snapshot: HandoffSnapshot, version: int, updated_at: datetime) -> bool:
        values = snapshot.model_dump(mode="python") | {"version": version, "updated_at": updated_at}
        return await upsert_if_newer(self._session, HandoffRecord, values, key="handoff_id")

    async def get(self, handoff_id: str) -> HandoffRecord | None:
        return await self._session.get(HandoffRecord, handoff_id, populate_existing=True)

    async def open_loops(self) -> Sequence[HandoffRecord]:
        """Pushes whose loop is not closed: what the monthly reconciliation lists."""
        query = select(HandoffRecord).where(HandoffRecord.closed_at.is_(None)).order_by(HandoffRecord.created_at)
        return (await self._session.scalars(query)).all()
