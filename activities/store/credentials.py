"""The front door's API keys: one row per key, holding a peppered HMAC of its secret and never the secret."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CheckConstraint, Integer, Row, String, Text, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from activities.store.base import Base


class ApiCredential(Base):
    __tablename__ = "api_credentials"
    __table_args__ = (CheckConstraint("kind IN ('department', 'operator')", name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(String(16), unique=True)
    # No foreign key to the registry: a department dropped from a re-imported registry keeps its key rows for the
    # record; issuing checks the registry instead.
    department: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    pepper_id: Mapped[str] = mapped_column(String(32))
    secret_hmac: Mapped[str] = mapped_column(String(64))  # hex HMAC-SHA256 under the pepper named by pepper_id
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)  # clear: an operator's note on a key, about no case or citizen


# The door reads a key's row on every request: one statement built once, run on a connection (no session, no ORM
# object), answering the row's columns by name.
_CREDENTIALS = ApiCredential.metadata.tables[ApiCredential.__tablename__]
_BY_KEY_ID = select(_CREDENTIALS).where(_CREDENTIALS.c.key_id == bindparam("the_key_id"))


async def credential_row(connection: AsyncConnection, key_id: str) -> Row[Any] | None:
    """The row of API key `key_id`, or None."""
    return (await connection.execute(_BY_KEY_ID, {"the_key_id": key_id})).first()


class CredentialRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, key_id: str) -> ApiCredential | None:
        return await self._session.scalar(select(ApiCredential).where(ApiCredential.key_id == key_id))

    async def listing(self, department: str | None = None) -> Sequence[ApiCredential]:
        query = select(ApiCredential).order_by(ApiCredential.department, ApiCredential.kind, ApiCredential.created_at)
        if department is not None:
            query = query.where(ApiCredential.department == department)
        return (await self._session.scalars(query)).all()

    async def live(self, department: str, kind: str, now: datetime) -> Sequence[ApiCredential]:
        """The keys of (department, kind) that are neither revoked nor expired at `now`."""
        rows = await self._session.scalars(
            select(ApiCredential)
            .where(
                ApiCredential.department == department,
                ApiCredential.kind == kind,
                ApiCredential.revoked_at.is_(None),
                ApiCredential.expires_at > now,
            )
            .order_by(ApiCredential.created_at)
        )
        return rows.all()

    def add(self, row: ApiCredential) -> None:
        self._session.add(row)

    async def revoke(self, key_id: str, now: datetime) -> ApiCredential | None:
        """Revokes the key unless it already is; there is no way back, so the first revocation's instant stays."""
        await self._session.execute(
            update(ApiCredential)
            .where(ApiCredential.key_id == key_id, ApiCredential.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        row = await self.get(key_id)
        if row is not None:
            await self._session.refresh(row)
        return row

    async def record_use(
        self, key_id: str, now: datetime, every: timedelta, rehash: tuple[str, str] | None = None
    ) -> None:
        """Sets last_used_at unless it was set less than `every` ago; rewrites a hash made under an old pepper."""
        if rehash is not None:
            pepper_id, secret_hmac = rehash
            await self._session.execute(
                update(ApiCredential)
                .where(ApiCredential.key_id == key_id)
                .values(pepper_id=pepper_id, secret_hmac=secret_hmac, last_used_at=now)
            )
            return
        await self._session.execute(
            update(ApiCredential)
            .where(
                ApiCredential.key_id == key_id,
                or_(ApiCredential.last_used_at.is_(None), ApiCredential.last_used_at <= now - every),
            )
            .values(last_used_at=now)
        )

    async def count(self) -> int:
        return await self._session.scalar(select(func.count()).select_from(ApiCredential)) or 0
