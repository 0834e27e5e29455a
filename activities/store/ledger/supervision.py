"""Supervision orders (督辦單): several per case, each with its own deadline and lifecycle."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import JSON, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from activities.store.base import Base, SealedText
from activities.store.ledger.idempotent import upsert_if_newer
from schemas.ledger import SupervisionOrderSnapshot, SupervisionOrderView


class SupervisionOrder(Base):
    __tablename__ = "supervision_orders"

    order_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(200), index=True)
    department_code: Mapped[str] = mapped_column(String(64), index=True)
    co_departments: Mapped[list[str]] = mapped_column(JSON)
    level: Mapped[str] = mapped_column(String(40))
    # The basis (the breach, a leader's instruction) and the content are written by departments and leaders and may
    # name the people a case is about: sealed, read only whole with the order. Ids, codes, level, status and times
    # stay clear: the views and reports search and sort on them, and they hold nothing personal.
    basis: Mapped[str | None] = mapped_column(SealedText("supervision_orders.basis"))
    content: Mapped[str] = mapped_column(SealedText("supervision_orders.content"))
    status: Mapped[str] = mapped_column(String(16), index=True)
    deadline: Mapped[datetime]
    issued_at: Mapped[datetime]
    received_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    lifted_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]

    def to_view(self, applied: bool = False) -> SupervisionOrderView:
        return SupervisionOrderView.model_validate(
            {column.key: getattr(self, column.key) for column in SupervisionOrder.__table__.columns}
            | {"applied": applied}
        )


class SupervisionOrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def save(self, snapshot: SupervisionOrderSnapshot, version: int, updated_at: datetime) -> bool:
        values = snapshot.model_dump(mode="python") | {"version": version, "updated_at": updated_at}
        return await upsert_if_newer(self._session, SupervisionOrder, values, key="order_id")

    async def get(self, order_id: str) -> SupervisionOrder | None:
        return await self._session.get(SupervisionOrder, order_id, populate_existing=True)

    async def for_case(self, case_id: str) -> Sequence[SupervisionOrder]:
        query = select(SupervisionOrder).where(SupervisionOrder.case_id == case_id).order_by(SupervisionOrder.issued_at)
        return (await self._session.scalars(query)).all()
