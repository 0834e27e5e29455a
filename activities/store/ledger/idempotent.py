"""Writes that a retried or concurrent activity attempt can repeat safely, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from activities.store.base import Base


def dialect_insert(session: AsyncSession, model: type[Base]) -> Any:
    """An INSERT that can say what to do on a conflict, in the session's dialect."""
    dialect = session.get_bind().dialect.name
    return postgresql.insert(model) if dialect == "postgresql" else sqlite.insert(model)


async def insert_once(session: AsyncSession, model: type[Base], values: dict[str, Any], keys: list[str]) -> bool:
    """Inserts the row unless one with the same keys exists; True when this call wrote it."""
    columns = model.__table__.c
    statement = (
        dialect_insert(session, model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=keys)
        .returning(*(columns[key] for key in keys))
    )
    return (await session.execute(statement)).first() is not None


async def upsert_if_newer(
    session: AsyncSession, model: type[Base], values: dict[str, Any], key: str, version: str = "version"
) -> bool:
    """Inserts the row, or overwrites it when `values` carry a higher version; True when this call wrote it.

    Equal versions are retries and older ones are late arrivals: both leave the row alone.
    """
    columns = model.__table__.c
    insert = dialect_insert(session, model).values(**values)
    statement = insert.on_conflict_do_update(
        index_elements=[key],
        set_={column: insert.excluded[column] for column in values if column != key},
        where=columns[version] < insert.excluded[version],
    ).returning(columns[key])
    return (await session.execute(statement)).first() is not None


async def insert_many_once(
    session: AsyncSession, model: type[Base], rows: list[dict[str, Any]], keys: list[str]
) -> set[tuple[Any, ...]]:
    """Inserts in one statement every row whose keys no row has yet; answers the keys of the rows this call wrote.

    A retried attempt finds its rows written and writes none; rows written by another attempt keep what they
    hold (the caller reads those back to compare)."""
    if not rows:
        return set()
    columns = model.__table__.c
    statement = (
        dialect_insert(session, model)
        .values(rows)
        .on_conflict_do_nothing(index_elements=keys)
        .returning(*(columns[key] for key in keys))
    )
    return {tuple(row) for row in (await session.execute(statement)).all()}
