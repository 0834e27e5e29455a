"""Version stamps of data the workers keep in memory: one row per kind, bumped in the transaction that changes it.

A worker that keeps the legal calendar (or the registry's departments) reads the stamp, one primary-key SELECT,
before it uses what it keeps, and loads again when the stamp moved. Every writer of that data bumps its stamp in
the same transaction, so a change is seen by the next computation that starts after it commits, in every process.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, String, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from activities.store.base import Base

CALENDAR = "calendar"  # calendar years, their days and localities' office hours
REGISTRY = "registry"  # departments (the registry import, a webhook disabled after 410 Gone)


class StoreStamp(Base):
    __tablename__ = "store_stamps"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


async def bump(session: AsyncSession, name: str) -> None:
    """Moves the stamp `name` on, inside the session's transaction (the migration creates the rows)."""
    moved = await session.execute(
        update(StoreStamp).where(StoreStamp.name == name).values(version=StoreStamp.version + 1)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]  # a store built without the migration's rows
        session.add(StoreStamp(name=name, version=1))
        await session.flush()


# Read before every legal-clock computation and department lookup: one Core statement, built once, the name a
# parameter (an ORM select built per call cost more than the primary-key read itself).
_READ = select(StoreStamp.__table__.c.version).where(StoreStamp.__table__.c.name == bindparam("name"))


async def read(session: AsyncSession, name: str) -> int:
    """The stamp's version; read it before what it guards, so a change made in between only costs a reload."""
    return (await session.scalar(_READ, {"name": name})) or 0
