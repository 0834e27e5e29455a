"""The front door's Idempotency-Key records: what a department's request under a key answered, kept for a while.

A row is claimed (in flight) before the command is sent and completed with the answer; a retry under the same key
is answered from it. Keys are per department, so two departments' keys never meet.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from activities.store.base import Base, SealedText

IN_FLIGHT = "in_flight"
COMPLETED = "completed"


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (CheckConstraint("state IN ('in_flight', 'completed')", name="state"),)

    department: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of method, path and canonical JSON body
    state: Mapped[str] = mapped_column(String(16))
    status: Mapped[int | None] = mapped_column(Integer)
    media_type: Mapped[str | None] = mapped_column(String(64))
    # The answer as sent (JSON), which may echo personal data from the request (a title, an applicant): sealed, only
    # read back whole under its department and key. The key, fingerprint and times stay clear: the door finds, takes
    # over and purges rows by them, and they hold nothing personal (the fingerprint is a digest).
    body: Mapped[str | None] = mapped_column(SealedText("idempotency_keys.body"))
    created_at: Mapped[datetime]  # when the current claim was taken (a taken-over claim restarts it)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class IdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim(self, department: str, key: str, fingerprint: str, now: datetime, expires_at: datetime) -> None:
        """Inserts the in-flight row (one Core statement, no unit of work); IntegrityError when the key is held."""
        await self._session.execute(
            insert(IdempotencyKey).values(
                department=department,
                key=key,
                fingerprint=fingerprint,
                state=IN_FLIGHT,
                created_at=now,
                expires_at=expires_at,
            )
        )

    async def get(self, department: str, key: str) -> IdempotencyKey | None:
        return await self._session.scalar(
            select(IdempotencyKey).where(IdempotencyKey.department == department, IdempotencyKey.key == key)
        )

    async def take_over(self, row: IdempotencyKey, fingerprint: str, now: datetime, expires_at: datetime) -> bool:
        """Claims a stale or expired row anew; False when another request changed it first."""
        result = await self._session.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.department == row.department,
                IdempotencyKey.key == row.key,
                IdempotencyKey.created_at == row.created_at,
                IdempotencyKey.state == row.state,
            )
            .values(
                fingerprint=fingerprint,
                state=IN_FLIGHT,
                status=None,
                media_type=None,
                body=None,
                created_at=now,
                expires_at=expires_at,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def complete(
        self, department: str, key: str, claimed_at: datetime, status: int, media_type: str, body: str
    ) -> None:
        await self._session.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.department == department,
                IdempotencyKey.key == key,
                IdempotencyKey.created_at == claimed_at,
            )
            .values(state=COMPLETED, status=status, media_type=media_type, body=body)
            .execution_options(synchronize_session=False)
        )

    async def release(self, department: str, key: str, claimed_at: datetime) -> None:
        await self._session.execute(
            delete(IdempotencyKey)
            .where(
                IdempotencyKey.department == department,
                IdempotencyKey.key == key,
                IdempotencyKey.created_at == claimed_at,
                IdempotencyKey.state == IN_FLIGHT,
            )
            .execution_options(synchronize_session=False)
        )

    async def purge(self, now: datetime) -> int:
        """Deletes every record past its retention; answers how many."""
        result = await self._session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.expires_at < now).execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)
