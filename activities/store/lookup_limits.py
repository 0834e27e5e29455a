"""The public status lookup's rate limit, counted in the store so every door behind a balancer counts together.

One row per client address and minute holds how many lookups that address made in it (refused ones too), raised
by one atomic upsert on SQLite and PostgreSQL alike, so doors racing each other never lose a count. A lookup is
admitted while this minute's count plus the part of the last minute's still inside a sliding minute stays within
the limit. The address is kept only as its SHA-256, and rows older than the last minute go as each address's first
lookup of a minute is counted: the table holds at most two minutes of addresses.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime

from sqlalchemy import Integer, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from activities.store.base import Base
from activities.store.ledger.idempotent import dialect_insert

MINUTE = 60.0


class StatusLookupWindow(Base):
    __tablename__ = "status_lookup_windows"

    address: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the client address, hex
    minute: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)  # minutes since the epoch
    lookups: Mapped[int] = mapped_column(Integer)


def address_key(address: str) -> str:
    return hashlib.sha256(address.encode()).hexdigest()


class LookupLimitRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def admit(self, address: str, now: datetime, per_minute: int) -> float | None:
        """Counts this lookup; None to admit it, else the seconds to wait."""
        key = address_key(address)
        seconds = now.timestamp()
        minute = int(seconds // MINUTE)
        elapsed = seconds - minute * MINUTE
        table = StatusLookupWindow.__table__.c
        insert = dialect_insert(self._session, StatusLookupWindow).values(address=key, minute=minute, lookups=1)
        counted = insert.on_conflict_do_update(
            index_elements=["address", "minute"], set_={"lookups": table.lookups + 1}
        ).returning(table.lookups)
        current: int = (await self._session.execute(counted)).scalar_one()
        if current == 1:  # this address's first lookup this minute: what no window reaches any more goes
            await self._session.execute(delete(StatusLookupWindow).where(StatusLookupWindow.minute < minute - 1))
        previous = await self._session.scalar(
            select(StatusLookupWindow.lookups).where(
                StatusLookupWindow.address == key, StatusLookupWindow.minute == minute - 1
            )
        )
        # The last minute's lookups still inside the sliding minute, rounded up: never fewer than were made.
        estimate = current + math.ceil((previous or 0) * (1 - elapsed / MINUTE))
        return None if estimate <= per_minute else max(MINUTE - elapsed, 1.0)
