"""The registry's leaders' rungs: the matters and localities whose escalation ladder ends in a report to the city
leaders' joint meeting (市領導會辦), with the limit of its outcome."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Numeric, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from activities.store.base import Base


class LeadersRungRow(Base):
    __tablename__ = "leaders_rungs"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)  # matter or locality
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    after_amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    after_unit: Mapped[str | None] = mapped_column(String(16))
    limit_amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    limit_unit: Mapped[str | None] = mapped_column(String(16))


class LeadersRungRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def replace(self, rows: list[LeadersRungRow]) -> None:
        """The section as a whole: an import names every leaders' rung there is."""
        await self._session.execute(delete(LeadersRungRow))
        self._session.add_all(rows)
        await self._session.flush()

    async def for_case(self, matter_code: str, locality_code: str) -> LeadersRungRow | None:
        """The matter's rung, else the locality's."""
        query = select(LeadersRungRow).where(
            ((LeadersRungRow.scope == "matter") & (LeadersRungRow.code == matter_code))
            | ((LeadersRungRow.scope == "locality") & (LeadersRungRow.code == locality_code))
        )
        rows = {row.scope: row for row in (await self._session.scalars(query)).all()}
        return rows.get("matter") or rows.get("locality")
