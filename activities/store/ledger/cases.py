"""The case read model: one row per case, rewritten at every transition, for supervisors' lists and reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from activities.store.base import Base, SealedText
from activities.store.ledger.idempotent import upsert_if_newer, upsert_many_if_newer
from schemas.ledger import CaseRecordView, CaseSnapshot


class CaseRecord(Base):
    __tablename__ = "case_records"

    case_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    matter_code: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(SealedText("case_records.title"))  # may name the people concerned
    stage: Mapped[str] = mapped_column(String(40), index=True)
    priority: Mapped[str] = mapped_column(String(40))
    lead_department: Mapped[str | None] = mapped_column(String(64), index=True)
    locality: Mapped[str | None] = mapped_column(String(64), index=True)
    co_units: Mapped[list[str]] = mapped_column(JSON)
    sla_colour: Mapped[str] = mapped_column(String(40))
    supervision_level: Mapped[str] = mapped_column(String(40))
    opened_at: Mapped[datetime]
    committed_deadline: Mapped[datetime | None]
    deadline_estimated: Mapped[bool] = mapped_column(Boolean)
    next_due_at: Mapped[datetime | None] = mapped_column(index=True)
    next_due_step: Mapped[str | None] = mapped_column(String(40))
    closed_at: Mapped[datetime | None]
    # Where a channel case came from: the channel's code and its own record number (codes, never personal data).
    channel: Mapped[str | None] = mapped_column(String(64))
    channel_reference: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]

    def to_view(self, applied: bool = False) -> CaseRecordView:
        return CaseRecordView.model_validate(
            {column.key: getattr(self, column.key) for column in CaseRecord.__table__.columns} | {"applied": applied}
        )


Index("ix_case_records_stage_sla", CaseRecord.stage, CaseRecord.sla_colour)
Index("ix_case_records_channel", CaseRecord.channel, CaseRecord.channel_reference)
# What the metrics collector groups at every scrape (workers/collectors.py), over the open cases only.
Index(
    "ix_case_records_open",
    CaseRecord.stage,
    CaseRecord.sla_colour,
    CaseRecord.lead_department,
    CaseRecord.locality,
    postgresql_where=CaseRecord.closed_at.is_(None),
    sqlite_where=CaseRecord.closed_at.is_(None),
)


class CaseRecordRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def save(self, snapshot: CaseSnapshot, version: int, updated_at: datetime) -> bool:
        """Stores the snapshot unless the record already reflects this transition or a later one."""
        values = snapshot.model_dump(mode="python") | {"version": version, "updated_at": updated_at}
        return await upsert_if_newer(self._session, CaseRecord, values, key="case_id")

    async def save_many(self, snapshots: Sequence[tuple[CaseSnapshot, int, datetime]]) -> None:
        """`save` for several cases (each named once) in one statement: snapshot, version, updated_at."""
        rows = [
            snapshot.model_dump(mode="python") | {"version": version, "updated_at": updated_at}
            for snapshot, version, updated_at in snapshots
        ]
        await upsert_many_if_newer(self._session, CaseRecord, rows, key="case_id")

    async def get(self, case_id: str) -> CaseRecord | None:
        return await self._session.get(CaseRecord, case_id, populate_existing=True)

    async def open_cases(
        self,
        *,
        stage: str | None = None,
        department: str | None = None,
        locality: str | None = None,
        channel: str | None = None,
    ) -> Sequence[CaseRecord]:
        """Cases not closed, soonest due first; a department matches as lead."""
        query = select(CaseRecord).where(CaseRecord.closed_at.is_(None))
        if channel is not None:
            query = query.where(CaseRecord.channel == channel)
        if stage is not None:
            query = query.where(CaseRecord.stage == stage)
        if department is not None:
            query = query.where(CaseRecord.lead_department == department)
        if locality is not None:
            query = query.where(CaseRecord.locality == locality)
        query = query.order_by(CaseRecord.next_due_at.is_(None), CaseRecord.next_due_at, CaseRecord.case_id)
        return (await self._session.scalars(query)).all()

    async def of_channel(self, channel: str, reference: str) -> CaseRecord | None:
        """The case a channel's record became, open or closed."""
        query = select(CaseRecord).where(CaseRecord.channel == channel, CaseRecord.channel_reference == reference)
        return await self._session.scalar(query)
