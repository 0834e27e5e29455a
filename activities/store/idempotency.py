"""The front door's Idempotency-Key records: what a department's request under a key answered, kept for a while.

A row is claimed (in flight) before the command is sent and completed with the answer; a retry under the same key
is answered from it. Keys are per department, so two departments' keys never meet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Integer, Row, String, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
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


# The door's statements, built once: their parameters are bound at each call, so SQLAlchemy finds each compiled
# statement in its cache without walking new values (a command claims, then completes, its key).
_TABLE = IdempotencyKey.metadata.tables[IdempotencyKey.__tablename__]
_THE_KEY = (_TABLE.c.department == bindparam("the_department"), _TABLE.c.key == bindparam("the_key"))
_CLAIMED_AT = _TABLE.c.created_at == bindparam("claimed_at")
_CLAIM = insert(_TABLE)
_GET = select(_TABLE).where(*_THE_KEY)
_TAKE_OVER = update(_TABLE).where(*_THE_KEY, _CLAIMED_AT, _TABLE.c.state == bindparam("held_state"))
_COMPLETE = update(_TABLE).where(*_THE_KEY, _CLAIMED_AT)
_RELEASE = delete(_TABLE).where(*_THE_KEY, _CLAIMED_AT, _TABLE.c.state == IN_FLIGHT)
_PURGE = delete(_TABLE).where(_TABLE.c.expires_at < bindparam("now"))


class IdempotencyRepository:
    """The key records, read and written with Core statements on a connection (the door's) or a session."""

    def __init__(self, db: AsyncConnection | AsyncSession) -> None:
        self._db = db

    async def claim(self, department: str, key: str, fingerprint: str, now: datetime, expires_at: datetime) -> None:
        """Inserts the in-flight row; IntegrityError when the key is held."""
        await self._db.execute(
            _CLAIM,
            {
                "department": department,
                "key": key,
                "fingerprint": fingerprint,
                "state": IN_FLIGHT,
                "created_at": now,
                "expires_at": expires_at,
            },
        )

    async def get(self, department: str, key: str) -> Row[Any] | None:
        return (await self._db.execute(_GET, {"the_department": department, "the_key": key})).first()

    async def take_over(self, row: Row[Any], fingerprint: str, now: datetime, expires_at: datetime) -> bool:
        """Claims a stale or expired row anew; False when another request changed it first."""
        result = await self._db.execute(
            _TAKE_OVER,
            {
                **_the(row.department, row.key, row.created_at),
                "held_state": row.state,
                "fingerprint": fingerprint,
                "state": IN_FLIGHT,
                "status": None,
                "media_type": None,
                "body": None,
                "created_at": now,
                "expires_at": expires_at,
            },
        )
        return bool(getattr(result, "rowcount", 0))

    async def complete(
        self, department: str, key: str, claimed_at: datetime, status: int, media_type: str, body: str
    ) -> None:
        answer = {"state": COMPLETED, "status": status, "media_type": media_type, "body": body}
        await self._db.execute(_COMPLETE, {**_the(department, key, claimed_at), **answer})

    async def release(self, department: str, key: str, claimed_at: datetime) -> None:
        await self._db.execute(_RELEASE, _the(department, key, claimed_at))

    async def purge(self, now: datetime) -> int:
        """Deletes every record past its retention; answers how many."""
        result = await self._db.execute(_PURGE, {"now": now})
        return int(getattr(result, "rowcount", 0) or 0)


def _the(department: str, key: str, claimed_at: datetime) -> dict[str, Any]:
    return {"the_department": department, "the_key": key, "claimed_at": claimed_at}
