"""Async engine and session factory for the store, on SQLite (embedded) or PostgreSQL (production)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Text, bindparam, column, event, make_url, select, update
from sqlalchemy import table as sql_table
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from activities.store.base import (
    CLEAR_MARK,
    Base,
    FieldCipher,
    SealedJSON,
    SealedText,
    attach_field_cipher,
    field_cipher,
    seal,
    sealed_under,
    unseal,
)
from activities.store.inline import run_inline
from activities.store.writer import queue_writes
from workers.keys import Keyring

FROM_ENVIRONMENT: Literal["environment"] = "environment"


class _StoreKeys(BaseSettings):
    """The payload keys, read from the environment as Settings reads them: the store seals with the same material."""

    model_config = SettingsConfigDict(
        env_prefix="CASELOOP_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    encryption_key: SecretStr | None = None
    encryption_keys: SecretStr | None = None


def configured_keyring() -> Keyring | None:
    keys = _StoreKeys()
    if keys.encryption_keys is not None:
        return Keyring.parse(keys.encryption_keys.get_secret_value())
    if keys.encryption_key is not None:
        return Keyring.single(keys.encryption_key.get_secret_value())
    return None


def create_engine(
    url: str, *, keyring: Keyring | Literal["environment"] | None = FROM_ENVIRONMENT, **kwargs: Any
) -> AsyncEngine:
    """An engine for the store URL; SQLite gets WAL, synchronous=normal and enforced foreign keys, runs each call
    inline on the event loop's thread (`activities.store.inline`, which also waits for other processes' writers),
    and its write transactions queue in-process, one writer per file (`activities.store.writer`).

    Personal fields are sealed under `keyring` (by default the payload keys of the environment; None: kept in
    clear, marked). Errors never carry a statement's parameters: they reach logs and Temporal's history, and the
    parameters are names, phone numbers and ID numbers.
    """
    engine = create_async_engine(url, hide_parameters=True, **kwargs)
    if keyring == FROM_ENVIRONMENT:
        keyring = configured_keyring()
    attach_field_cipher(engine.sync_engine.dialect, FieldCipher(keyring) if isinstance(keyring, Keyring) else None)
    if engine.dialect.name == "sqlite":
        run_inline(engine)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        queue_writes(engine)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class _CommitsInPlace(async_sessionmaker[AsyncSession]):
    """Sessions whose `begin()` commits (or rolls back) in the caller's own task.

    SQLAlchemy's `begin()` ends the transaction in a task of its own, so that a cancellation cannot interrupt it
    halfway, and that task first runs a turn of the event loop later: on SQLite the file's write lock stayed held
    through that turn, which on a saturated loop is long. An inline SQLite connection (`activities.store.inline`)
    commits without ever handing the loop a turn, so no cancellation can land in the middle of it either."""

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:  # type: ignore[override]
        async with self() as session, session.begin():
            yield session


def engine_of(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    """The engine a session factory binds its sessions to (for Core statements on its connections)."""
    bound = sessions.kw.get("bind")
    if not isinstance(bound, AsyncEngine):
        raise TypeError("the session factory is bound to no AsyncEngine")
    return bound


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    if engine.dialect.name == "sqlite":
        return _CommitsInPlace(engine, expire_on_commit=False)
    return async_sessionmaker(engine, expire_on_commit=False)


def redacted_url(url: str) -> str:
    """The store URL without its password, fit for logs and error messages."""
    return make_url(url).render_as_string(hide_password=True)


async def reseal(engine: AsyncEngine) -> int:
    """Seals every personal field held in clear or under an older key with the engine's newest key; returns how
    many rows it rewrote. For the first key configured on a store, and after a rotation, before the old key goes."""
    async with engine.begin() as connection:
        return await connection.run_sync(_reseal_tables)


def _reseal_tables(connection: Connection) -> int:
    rewritten = 0
    for table in Base.metadata.sorted_tables:
        purposes = {
            column.name: column.type.purpose
            for column in table.columns
            if isinstance(column.type, SealedText | SealedJSON)
        }
        if purposes:
            keys = [column.name for column in table.primary_key.columns]
            rewritten += reseal_columns(connection, table.name, keys, purposes)
    return rewritten


def reseal_columns(connection: Connection, table_name: str, keys: list[str], purposes: dict[str, str]) -> int:
    """Rewrites the columns of `purposes` (name → purpose) in every row not yet under the connection's newest key
    (clear-marked when it has none), reading them as stored; migrations call it without the models."""
    cipher = field_cipher(connection.dialect)
    current = cipher.encoding_id if cipher is not None else None
    table = sql_table(table_name, *(column(name) for name in keys), *(column(name, Text) for name in purposes))
    changes: list[dict[str, Any]] = []
    for row in connection.execute(select(table)).mappings():
        stored = [row[name] for name in purposes if row[name] is not None]
        if all(_is_current(value, current) for value in stored):
            continue
        change = {f"key_{name}": row[name] for name in keys}
        for name, purpose in purposes.items():
            value = row[name]
            change[name] = None if value is None else seal(unseal(value, purpose, cipher), purpose, cipher)
        changes.append(change)
    if changes:
        statement = (
            update(table)
            .where(*(table.c[name] == bindparam(f"key_{name}") for name in keys))
            .values({name: bindparam(name) for name in purposes})
        )
        connection.execute(statement, changes)
    return len(changes)


def _is_current(stored: str, key_id: str | None) -> bool:
    return sealed_under(stored) == key_id if key_id is not None else stored.startswith(CLEAR_MARK)
