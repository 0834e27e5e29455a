"""Cards (紅黃牌): issued to a department, permanent, counted in assessments; revoked only with a reason."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Numeric, String, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from activities.store.base import Base, SealedText
from activities.store.ledger.idempotent import insert_many_once, insert_once


class Card(Base):
    __tablename__ = "cards"

    card_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(200), index=True)
    subject_kind: Mapped[str] = mapped_column(String(24))
    department_code: Mapped[str] = mapped_column(String(64), index=True)
    level: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(40))
    due_at: Mapped[datetime | None]
    issued_at: Mapped[datetime]
    points: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    score_event_id: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    # Why a coordinator revoked it, in their words, which may name people: sealed, only read whole with the card.
    # The reason code, level, department and times stay clear: the views and reports search and count by them.
    revocation_reason: Mapped[str | None] = mapped_column(SealedText("cards.revocation_reason"))


class CardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_many(self, cards: Sequence[Card]) -> tuple[set[str], dict[str, Card]]:
        """`add` for several in one INSERT: the ids this call wrote, and the stored rows of those that were there
        first (read in one SELECT, only when there are any), to compare."""
        rows = [{column.key: getattr(row, column.key) for column in Card.__table__.columns} for row in cards]
        written = {key for (key,) in await insert_many_once(self._session, Card, rows, ["card_id"])}
        there = [row.card_id for row in cards if row.card_id not in written]
        if not there:
            return written, {}
        stored = await self._session.scalars(select(Card).where(Card.card_id.in_(there)))
        return written, {row.card_id: row for row in stored}

    async def add(self, card: Card) -> tuple[bool, Card]:
        """Writes the card unless its id is there; returns whether it wrote, and the stored card."""
        values = {column.key: getattr(card, column.key) for column in Card.__table__.columns}
        written = await insert_once(self._session, Card, values, ["card_id"])
        stored = await self.get(card.card_id)
        assert stored is not None  # just written, or found by the conflict
        return written, stored

    async def get(self, card_id: str) -> Card | None:
        return await self._session.get(Card, card_id, populate_existing=True)

    async def revoke(self, card_id: str, at: datetime, by: str, reason: str) -> bool:
        """Revokes a card once; True when this call did (False: unknown or already revoked)."""
        result = await self._session.execute(
            update(Card)
            .where(Card.card_id == card_id, Card.revoked_at.is_(None))
            .values(revoked_at=at, revoked_by=by, revocation_reason=reason)
            .returning(Card.card_id)
            # The ORM's in-session sync would look the sealed reason up by column, which a sealed column refuses;
            # nothing here keeps a Card loaded across a revoke (get reads populate_existing).
            .execution_options(synchronize_session=False)
        )
        return result.first() is not None

    async def for_subject(self, subject_id: str) -> Sequence[Card]:
        query = select(Card).where(Card.subject_id == subject_id).order_by(Card.issued_at, Card.card_id)
        return (await self._session.scalars(query)).all()
