"""Ratings (好差評) of a case's result by its requester, five levels; the two lowest are bad ratings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from activities.store.base import Base, SealedText
from activities.store.ledger.idempotent import insert_once


class Rating(Base):
    __tablename__ = "ratings"

    rating_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(200), index=True)
    department_code: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(24))
    channel: Mapped[str | None] = mapped_column(String(40))
    # The requester's own words, which may name them or others: sealed, only read whole with the rating. The level,
    # the rated department and the times stay clear: reports count and sort by them, and they hold nothing personal.
    comment: Mapped[str | None] = mapped_column(SealedText("ratings.comment"))
    rated_at: Mapped[datetime]
    score_event_id: Mapped[str | None] = mapped_column(String(200))


class RatingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, rating: Rating) -> tuple[bool, Rating]:
        values = {column.key: getattr(rating, column.key) for column in Rating.__table__.columns}
        written = await insert_once(self._session, Rating, values, ["rating_id"])
        stored = await self._session.get(Rating, rating.rating_id, populate_existing=True)
        assert stored is not None  # just written, or found by the conflict
        return written, stored

    async def for_case(self, case_id: str) -> Sequence[Rating]:
        query = select(Rating).where(Rating.case_id == case_id).order_by(Rating.rated_at, Rating.rating_id)
        return (await self._session.scalars(query)).all()
