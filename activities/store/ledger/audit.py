"""The append-only audit trail: every transition of a case, hand-off or supervision order, once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from activities.store.base import Base, SealedText
from activities.store.ledger.idempotent import insert_many_once, insert_once
from schemas.ledger import AuditEntry, SubjectKind


class AuditRecord(Base):
    __tablename__ = "audit_trail"
    # A retried activity carries the same (subject, seq), so the trail can never hold a transition twice.
    __table_args__ = (UniqueConstraint("subject_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_id: Mapped[str] = mapped_column(String(200))
    subject_kind: Mapped[str] = mapped_column(String(24))
    seq: Mapped[int]
    actor: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[str | None] = mapped_column(String(200))
    credential_id: Mapped[str | None] = mapped_column(String(200))
    # Reasons are free text from people, and may name whom a decision is about.
    on_behalf_reason: Mapped[str | None] = mapped_column(SealedText("audit_trail.on_behalf_reason"))
    action: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(SealedText("audit_trail.reason"))
    from_stage: Mapped[str | None] = mapped_column(String(40))
    to_stage: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[datetime]

    def to_entry(self) -> AuditEntry:
        return AuditEntry(
            subject_id=self.subject_id,
            subject_kind=SubjectKind(self.subject_kind),
            seq=self.seq,
            actor=self.actor,
            actor_id=self.actor_id,
            credential_id=self.credential_id,
            on_behalf_reason=self.on_behalf_reason,
            action=self.action,
            reason=self.reason,
            from_stage=self.from_stage,
            to_stage=self.to_stage,
            at=self.at,
        )


class AuditTrailRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def append(self, entry: AuditEntry) -> tuple[bool, AuditEntry]:
        """Writes the entry unless its (subject, seq) is there; returns whether it wrote, and the stored entry (the
        one given when it wrote it: read back only when another was there first, to compare)."""
        written = await insert_once(self._session, AuditRecord, entry.model_dump(mode="python"), ["subject_id", "seq"])
        if written:
            return True, entry
        stored = await self._session.scalar(
            select(AuditRecord).where(AuditRecord.subject_id == entry.subject_id, AuditRecord.seq == entry.seq)
        )
        assert stored is not None  # found by the conflict
        return False, stored.to_entry()

    async def append_many(self, entries: Sequence[AuditEntry]) -> list[tuple[bool, AuditEntry]]:
        """`append` for several entries in one INSERT, and one SELECT only when some were there first: per entry,
        whether this call wrote it, and the stored entry to compare."""
        rows = [entry.model_dump(mode="python") for entry in entries]
        written = await insert_many_once(self._session, AuditRecord, rows, ["subject_id", "seq"])
        there = [entry for entry in entries if (entry.subject_id, entry.seq) not in written]
        stored: dict[tuple[str, int], AuditEntry] = {}
        if there:
            found = await self._session.scalars(
                select(AuditRecord).where(
                    or_(*(and_(AuditRecord.subject_id == e.subject_id, AuditRecord.seq == e.seq) for e in there))
                )
            )
            stored = {(row.subject_id, row.seq): row.to_entry() for row in found}
        return [
            (True, entry) if (entry.subject_id, entry.seq) in written else (False, stored[entry.subject_id, entry.seq])
            for entry in entries
        ]

    async def latest_at(self, subject_id: str, action: str, until: datetime) -> datetime | None:
        """When the subject's latest `action` at or before `until` was recorded: one row, one column (nothing sealed
        to open), where reading the whole trail grew with the case."""
        return await self._session.scalar(
            select(AuditRecord.at)
            .where(AuditRecord.subject_id == subject_id, AuditRecord.action == action, AuditRecord.at <= until)
            .order_by(AuditRecord.seq.desc())
            .limit(1)
        )

    async def entries_for(self, subject_id: str) -> Sequence[AuditEntry]:
        rows = await self._session.scalars(
            select(AuditRecord).where(AuditRecord.subject_id == subject_id).order_by(AuditRecord.seq)
        )
        return [row.to_entry() for row in rows]
