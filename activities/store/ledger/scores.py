"""Assessment score events (營商環境考核加減分) per department, and their totals over a period."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Index, Numeric, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from activities.store.base import Base, SealedText
from activities.store.ledger.idempotent import insert_many_once, insert_once


class ScoreEvent(Base):
    __tablename__ = "score_events"

    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    department_code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24))
    subject_id: Mapped[str] = mapped_column(String(200), index=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    points: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    # A note a department may write when it records an event by hand (the rules write codes and dates): free text,
    # sealed, only read whole with the event. The totals sum points by department and time, which stay clear.
    note: Mapped[str | None] = mapped_column(SealedText("score_events.note"))


Index("ix_score_events_department_occurred", ScoreEvent.department_code, ScoreEvent.occurred_at)


class ScoreEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_many(self, events: Sequence[ScoreEvent]) -> tuple[set[str], dict[str, ScoreEvent]]:
        """`add` for several in one INSERT: the ids this call wrote, and the stored rows of those that were there
        first (read in one SELECT, only when there are any), to compare."""
        rows = [{column.key: getattr(row, column.key) for column in ScoreEvent.__table__.columns} for row in events]
        written = {key for (key,) in await insert_many_once(self._session, ScoreEvent, rows, ["event_id"])}
        there = [row.event_id for row in events if row.event_id not in written]
        if not there:
            return written, {}
        stored = await self._session.scalars(select(ScoreEvent).where(ScoreEvent.event_id.in_(there)))
        return written, {row.event_id: row for row in stored}

    async def add(self, event: ScoreEvent) -> tuple[bool, ScoreEvent]:
        """Writes the event unless its id is there; returns whether it wrote, and the stored event."""
        values = {column.key: getattr(event, column.key) for column in ScoreEvent.__table__.columns}
        written = await insert_once(self._session, ScoreEvent, values, ["event_id"])
        stored = await self._session.get(ScoreEvent, event.event_id, populate_existing=True)
        assert stored is not None  # just written, or found by the conflict
        return written, stored

    async def for_department(self, department_code: str) -> Sequence[ScoreEvent]:
        query = (
            select(ScoreEvent)
            .where(ScoreEvent.department_code == department_code)
            .order_by(ScoreEvent.occurred_at, ScoreEvent.event_id)
        )
        return (await self._session.scalars(query)).all()

    async def totals(self, start: datetime, end: datetime) -> list[tuple[str, Decimal, int]]:
        """(department, points, events) for events in [start, end), by department code."""
        query = (
            select(ScoreEvent.department_code, func.sum(ScoreEvent.points), func.count())
            .where(ScoreEvent.occurred_at >= start, ScoreEvent.occurred_at < end)
            .group_by(ScoreEvent.department_code)
            .order_by(ScoreEvent.department_code)
        )
        return [(code, Decimal(points), count) for code, points, count in (await self._session.execute(query)).all()]
