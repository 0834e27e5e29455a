"""Operator overrides of the legal calendar (a year's days off and make-up days) and of localities' office hours."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from activities.store import stamps
from activities.store.base import Base
from schemas.clock import (
    CalendarOverride,
    CalendarSource,
    CalendarYear,
    NamedDay,
    OfficeHoursOverride,
    OfficeHoursSeason,
)

HOLIDAY = "holiday"
MAKEUP_WORKDAY = "makeup-workday"
DEFAULT_SEASON = ""  # the locality's year-round hours are stored as the season without a name


class CalendarYearOverride(Base):
    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(500))
    imported_from: Mapped[str] = mapped_column(String(500))
    imported_at: Mapped[datetime]


class CalendarDayOverride(Base):
    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("calendar_years.year", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))


class OfficeHoursRow(Base):
    __tablename__ = "office_hours"

    locality: Mapped[str] = mapped_column(String(64), primary_key=True)
    season: Mapped[str] = mapped_column(String(100), primary_key=True)
    starts_on: Mapped[str | None] = mapped_column(String(5))
    ends_on: Mapped[str | None] = mapped_column(String(5))
    hours: Mapped[list[str]] = mapped_column(JSON)
    imported_at: Mapped[datetime]


class CalendarRepository:
    """Reads and replaces overrides; one import replaces everything stored for its year or locality, and bumps the
    calendar's stamp in the same transaction (the workers' kept calendars reload on the next computation)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def replace_year(self, override: CalendarOverride, imported_from: str, imported_at: datetime) -> None:
        await stamps.bump(self._session, stamps.CALENDAR)
        await self._session.execute(delete(CalendarDayOverride).where(CalendarDayOverride.year == override.year))
        await self._session.execute(delete(CalendarYearOverride).where(CalendarYearOverride.year == override.year))
        self._session.add(
            CalendarYearOverride(
                year=override.year, source=override.source, imported_from=imported_from, imported_at=imported_at
            )
        )
        await self._session.flush()  # the year row first: the days refer to it
        year = override.to_year()
        for status, days in ((HOLIDAY, year.days_off), (MAKEUP_WORKDAY, year.makeup_workdays)):
            self._session.add_all(
                CalendarDayOverride(day=named.day, year=override.year, status=status, name=named.name) for named in days
            )
        await self._session.flush()

    async def years(self) -> dict[int, CalendarYear]:
        """Every overridden year; there are few, and a deadline may reach into any of them."""
        rows = (await self._session.scalars(select(CalendarYearOverride))).all()
        days = (await self._session.scalars(select(CalendarDayOverride).order_by(CalendarDayOverride.day))).all()
        result = {}
        for row in rows:
            own = [day for day in days if day.year == row.year]
            result[row.year] = CalendarYear(
                year=row.year,
                source=CalendarSource.OVERRIDE,
                label=f"{row.source} (imported from {row.imported_from})",
                days_off=[NamedDay(day=day.day, name=day.name) for day in own if day.status == HOLIDAY],
                makeup_workdays=[NamedDay(day=day.day, name=day.name) for day in own if day.status == MAKEUP_WORKDAY],
                imported_at=row.imported_at,
            )
        return result

    async def replace_office_hours(self, override: OfficeHoursOverride, imported_at: datetime) -> None:
        await stamps.bump(self._session, stamps.CALENDAR)
        await self._session.execute(delete(OfficeHoursRow).where(OfficeHoursRow.locality == override.locality))
        self._session.add(
            OfficeHoursRow(
                locality=override.locality,
                season=DEFAULT_SEASON,
                starts_on=None,
                ends_on=None,
                hours=override.hours,
                imported_at=imported_at,
            )
        )
        self._session.add_all(
            OfficeHoursRow(
                locality=override.locality,
                season=season.name,
                starts_on=season.starts_on,
                ends_on=season.ends_on,
                hours=season.hours,
                imported_at=imported_at,
            )
            for season in override.seasons
        )
        await self._session.flush()

    async def office_hours(self, locality: str) -> OfficeHoursOverride | None:
        rows = (
            await self._session.scalars(
                select(OfficeHoursRow).where(OfficeHoursRow.locality == locality).order_by(OfficeHoursRow.starts_on)
            )
        ).all()
        default = next((row for row in rows if row.season == DEFAULT_SEASON), None)
        if default is None:
            return None
        return OfficeHoursOverride(
            locality=locality,
            hours=default.hours,
            seasons=[
                OfficeHoursSeason(name=row.season, starts_on=row.starts_on, ends_on=row.ends_on, hours=row.hours)
                for row in rows
                if row.season != DEFAULT_SEASON
            ],
        )
