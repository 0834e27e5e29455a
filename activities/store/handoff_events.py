"""Reported trigger events, the hand-offs each one started (their threads), and the monthly reconciliations.

An event is recorded once, by its key (reporting department, event, reference): a second report of it finds the
row and starts nothing. Events that match no collaboration matter are recorded too, so nothing is dropped.
A reconciliation keeps one row per overdue loop, read per department, never as one document.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from activities.store.base import Base, SealedJSON
from activities.store.ledger.handoffs import HandoffRecord
from activities.store.ledger.idempotent import insert_once

CODE = String(64)
ID = String(200)


class HandoffEvent(Base):
    __tablename__ = "handoff_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(String(300), unique=True)
    # Codes kept as plain text, not foreign keys: the record outlives registry changes.
    source_department: Mapped[str] = mapped_column(CODE, index=True)
    event: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(128))
    item_code: Mapped[str | None] = mapped_column(CODE)
    locality_code: Mapped[str | None] = mapped_column(CODE)
    related_handoff_id: Mapped[str | None] = mapped_column(ID)
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime]
    # The intake or batch run that recorded it: a retry of that run is not a duplicate report.
    admitted_by: Mapped[str] = mapped_column(String(300))
    outcome: Mapped[str] = mapped_column(String(16))
    # Clear: the event's codes, reference and times are what the key and the reconciliation search on, and hold no
    # personal data (the reference is the source department's case number); `rule` is the matcher's own refusal.
    rule: Mapped[str | None] = mapped_column(Text)

    handoffs: Mapped[list[HandoffStartRow]] = relationship(
        order_by="HandoffStartRow.handoff_id", lazy="selectin", back_populates="source"
    )


class HandoffStartRow(Base):
    """A hand-off an event started, with the input it was started with, so a lost start can be repeated."""

    __tablename__ = "handoff_starts"

    handoff_id: Mapped[str] = mapped_column(ID, primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer, ForeignKey("handoff_events.id"), index=True)
    thread_id: Mapped[str] = mapped_column(ID, index=True)
    related_handoff_id: Mapped[str | None] = mapped_column(ID)
    matter_code: Mapped[str] = mapped_column(CODE)
    direction: Mapped[str] = mapped_column(String(32))
    source_department: Mapped[str] = mapped_column(CODE)
    receiver_code: Mapped[str | None] = mapped_column(CODE)
    end_to_end_due_at: Mapped[datetime] = mapped_column(index=True)
    started_at: Mapped[datetime]
    # The hand-off's input as started: the event's payload and the source department's approval record, which name
    # the applicant; sealed. Only read back whole by the hand-off id (a repeated start), never searched.
    start: Mapped[dict[str, Any]] = mapped_column(SealedJSON("handoff_starts.start"))

    source: Mapped[HandoffEvent] = relationship(back_populates="handoffs")


class HandoffReconciliation(Base):
    """One run of the monthly reconciliation (the "monthly letter"), keyed by its workflow run."""

    __tablename__ = "handoff_reconciliations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_key: Mapped[str] = mapped_column(String(300), unique=True)
    as_of: Mapped[datetime]
    open_past_limit: Mapped[int] = mapped_column(Integer)
    # The whole letter as one document, as runs recorded it before their loops got rows; None since.
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    recorded_at: Mapped[datetime]


class ReconciledLoop(Base):
    """One loop a reconciliation found open past its end-to-end limit, as it stood then."""

    __tablename__ = "handoff_reconciliation_loops"
    __table_args__ = (Index("ix_handoff_reconciliation_loops_report", "reconciliation_id", "department_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reconciliation_id: Mapped[int] = mapped_column(Integer, ForeignKey("handoff_reconciliations.id"))
    department_code: Mapped[str] = mapped_column(CODE)  # the receiver, or "-" when nobody was routed to
    handoff_id: Mapped[str] = mapped_column(ID)
    matter_code: Mapped[str] = mapped_column(CODE)
    direction: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(40))
    source_department: Mapped[str] = mapped_column(CODE)
    receiver_code: Mapped[str | None] = mapped_column(CODE)
    end_to_end_due_at: Mapped[datetime]


class HandoffEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, event_key: str) -> HandoffEvent | None:
        query = select(HandoffEvent).where(HandoffEvent.event_key == event_key)
        return (await self._session.scalars(query.execution_options(populate_existing=True))).first()

    async def record(self, event: HandoffEvent, starts: Sequence[HandoffStartRow]) -> HandoffEvent:
        """Records the event and its hand-offs unless the key is known; returns the stored event either way."""
        values = {column.key: getattr(event, column.key) for column in HandoffEvent.__table__.columns}
        values.pop("id")
        if await insert_once(self._session, HandoffEvent, values, ["event_key"]):
            stored = await self.get(event.event_key)
            assert stored is not None
            for start in starts:
                start.event_id = stored.id
                self._session.add(start)
            await self._session.flush()
        stored = await self.get(event.event_key)
        assert stored is not None
        await self._session.refresh(stored, ["handoffs"])
        return stored

    async def start_of(self, handoff_id: str) -> HandoffStartRow | None:
        return await self._session.get(HandoffStartRow, handoff_id)

    async def thread(self, thread_id: str) -> Sequence[HandoffStartRow]:
        query = (
            select(HandoffStartRow)
            .where(HandoffStartRow.thread_id == thread_id)
            .order_by(HandoffStartRow.started_at, HandoffStartRow.handoff_id)
        )
        return (await self._session.scalars(query)).all()

    async def open_past_limit(self, as_of: datetime) -> Sequence[tuple[HandoffStartRow, HandoffRecord | None]]:
        """Hand-offs past their end-to-end limit whose loop is not closed, by the read model; one that never
        wrote its read model is open too (its start was lost or its worker never ran it)."""
        query = (
            select(HandoffStartRow, HandoffRecord)
            .outerjoin(HandoffRecord, HandoffRecord.handoff_id == HandoffStartRow.handoff_id)
            .where(HandoffStartRow.end_to_end_due_at < as_of, HandoffRecord.closed_at.is_(None))
            .order_by(HandoffStartRow.end_to_end_due_at, HandoffStartRow.handoff_id)
        )
        return [(row.HandoffStartRow, row.HandoffRecord) for row in await self._session.execute(query)]


class ReconciliationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, row: HandoffReconciliation, loops: Sequence[ReconciledLoop] = ()) -> HandoffReconciliation:
        """Idempotent by run key: a retried activity returns the report its first attempt recorded, loops and all."""
        values = {column.key: getattr(row, column.key) for column in HandoffReconciliation.__table__.columns}
        values.pop("id")
        written = await insert_once(self._session, HandoffReconciliation, values, ["run_key"])
        stored = await self.of_run(row.run_key)
        assert stored is not None
        if written:
            for loop in loops:
                loop.reconciliation_id = stored.id
                self._session.add(loop)
            await self._session.flush()
        return stored

    async def of_run(self, run_key: str) -> HandoffReconciliation | None:
        query = select(HandoffReconciliation).where(HandoffReconciliation.run_key == run_key)
        return (await self._session.scalars(query)).first()

    async def get(self, report_id: int) -> HandoffReconciliation | None:
        return await self._session.get(HandoffReconciliation, report_id)

    async def counts(self, report_id: int) -> dict[str, int]:
        """Loops per receiving department, by code."""
        query = (
            select(ReconciledLoop.department_code, func.count())
            .where(ReconciledLoop.reconciliation_id == report_id)
            .group_by(ReconciledLoop.department_code)
            .order_by(ReconciledLoop.department_code)
        )
        return {code: count for code, count in (await self._session.execute(query)).all()}

    async def loops(self, report_id: int, department_code: str | None = None) -> Sequence[ReconciledLoop]:
        """The report's loops, per department and longest overdue first; one department's letter when named."""
        query = select(ReconciledLoop).where(ReconciledLoop.reconciliation_id == report_id)
        if department_code is not None:
            query = query.where(ReconciledLoop.department_code == department_code)
        query = query.order_by(ReconciledLoop.department_code, ReconciledLoop.end_to_end_due_at, ReconciledLoop.id)
        return (await self._session.scalars(query)).all()

    async def latest(self) -> HandoffReconciliation | None:
        query = select(HandoffReconciliation).order_by(HandoffReconciliation.as_of.desc()).limit(1)
        return (await self._session.scalars(query)).first()
