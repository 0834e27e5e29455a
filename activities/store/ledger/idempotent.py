"""Writes that a retried or concurrent activity attempt can repeat safely, on SQLite and PostgreSQL alike.

Their statements are built once per table, dialect and set of columns and kept (`_statement`): the values travel as
parameters, so a transition's store write no longer rebuilds an INSERT … ON CONFLICT with every column's value in it
(and SQLAlchemy no longer walks that tree for its cache key) on each call. They are Core statements on the table,
not the ORM class, so the session runs them without the ORM's bulk-insert machinery; the columns' types (sealed
text, JSON, datetimes) bind the values as before.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from activities.store.base import Base

_STATEMENTS: dict[Hashable, Any] = {}


def _dialect(session: AsyncSession) -> str:
    return "postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"


def _insert(dialect: str, table: Table) -> Any:
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def dialect_insert(session: AsyncSession, model: type[Base]) -> Any:
    """An INSERT that can say what to do on a conflict, in the session's dialect."""
    return _insert(_dialect(session), model.__table__)  # type: ignore[arg-type]


def _statement(key: Hashable, build: Callable[[], Any]) -> Any:
    """The statement kept under `key`, built the first time it is asked for (statements are immutable)."""
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = build()
    return statement


def _insert_once_statement(dialect: str, table: Table, keys: tuple[str, ...]) -> Any:
    def build() -> Any:
        returning = (table.c[key] for key in keys)
        return _insert(dialect, table).on_conflict_do_nothing(index_elements=keys).returning(*returning)

    return _statement(("insert-once", dialect, table.name, keys), build)


async def insert_once(session: AsyncSession, model: type[Base], values: dict[str, Any], keys: list[str]) -> bool:
    """Inserts the row unless one with the same keys exists; True when this call wrote it."""
    statement = _insert_once_statement(_dialect(session), model.__table__, tuple(keys))  # type: ignore[arg-type]
    return (await session.execute(statement, values)).first() is not None


def _upsert_statement(dialect: str, table: Table, columns: tuple[str, ...], key: str, version: str) -> Any:
    """INSERT … ON CONFLICT (key) DO UPDATE the other columns WHERE the stored version is lower."""
    insert = _insert(dialect, table)
    return insert.on_conflict_do_update(
        index_elements=[key],
        set_={column: insert.excluded[column] for column in columns if column != key},
        where=table.c[version] < insert.excluded[version],
    )


async def upsert_if_newer(
    session: AsyncSession, model: type[Base], values: dict[str, Any], key: str, version: str = "version"
) -> bool:
    """Inserts the row, or overwrites it when `values` carry a higher version; True when this call wrote it.

    Equal versions are retries and older ones are late arrivals: both leave the row alone.
    """
    table: Table = model.__table__  # type: ignore[assignment]
    dialect, columns = _dialect(session), tuple(values)

    def build() -> Any:
        return _upsert_statement(dialect, table, columns, key, version).returning(table.c[key])

    statement = _statement(("upsert", dialect, table.name, columns, key, version), build)
    return (await session.execute(statement, values)).first() is not None


async def upsert_many_if_newer(
    session: AsyncSession, model: type[Base], rows: list[dict[str, Any]], key: str, version: str = "version"
) -> None:
    """`upsert_if_newer` for several rows with the same columns and distinct keys, in one statement (PostgreSQL
    refuses a statement that updates one row twice); answers nothing."""
    if not rows:
        return
    table: Table = model.__table__  # type: ignore[assignment]
    dialect, columns = _dialect(session), tuple(rows[0])

    def build() -> Any:
        return _upsert_statement(dialect, table, columns, key, version)

    statement = _statement(("upsert-many", dialect, table.name, columns, key, version), build)
    await session.execute(statement, rows)


async def insert_many_once(
    session: AsyncSession, model: type[Base], rows: list[dict[str, Any]], keys: list[str]
) -> set[tuple[Any, ...]]:
    """Inserts in one statement every row whose keys no row has yet; answers the keys of the rows this call wrote.

    A retried attempt finds its rows written and writes none; rows written by another attempt keep what they
    hold (the caller reads those back to compare)."""
    if not rows:
        return set()
    # The rows as the parameters of one statement: SQLAlchemy sends them as one multi-row INSERT … RETURNING
    # ("insertmanyvalues"), the statement compiled once for every count of rows.
    statement = _insert_once_statement(_dialect(session), model.__table__, tuple(keys))  # type: ignore[arg-type]
    return {tuple(row) for row in (await session.execute(statement, rows)).all()}
