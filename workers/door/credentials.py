"""API keys of the front door (issue, list, revoke) and the Authenticator every request passes through.

A key reads `clk_<key_id>_<secret>`: the typed prefix makes a leaked key greppable, the key id finds its row, and
only HMAC-SHA256(pepper, key id + secret) is stored, tagged with the pepper's id so peppers can rotate. The
secrets are 256 random bits, so a slow password hash would buy nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import structlog
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store.credentials import ApiCredential, CredentialRepository, credential_row
from activities.store.db import engine_of
from activities.store.registry import Department
from schemas.access import (
    Caller,
    CredentialInfo,
    CredentialKind,
    CredentialStatus,
    IssuedCredential,
    RefusalReason,
)
from workers.settings import Environment, Settings

if TYPE_CHECKING:
    from workers.door.tokens import JwtVerifier

log = structlog.get_logger(__name__)

KEY_PREFIX = "clk_"
KEY_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # lowercase base32: no look-alike characters, no separators
KEY_ID_LENGTH = 12
SECRET_BYTES = 32
_API_KEY = re.compile(rf"clk_([{KEY_ID_ALPHABET}]{{{KEY_ID_LENGTH}}})_([A-Za-z0-9_-]{{43,128}})")
# Two, so that a department can put a new key in service before it revokes the old one.
MAX_LIVE_KEYS = 2
USE_RECORDED_EVERY = timedelta(minutes=1)
DEVELOPMENT_CREATOR = "caseloop up"
OPERATOR_ENTRY = "operator"  # the entry of the development operator key in issue_development_credentials' mapping

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class CredentialRefused(Exception):
    """The credential of a request is not accepted. `message` names at most the key id, never the secret."""

    def __init__(self, reason: RefusalReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class CredentialRejected(Exception):
    """Issuing a key was refused by a rule; nothing was changed."""

    def __init__(self, message: str, *, rule: str, field: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.field = field


class CredentialNotFound(Exception):
    """No API key has that key id."""


def _secret_hmac(pepper: bytes, key_id: str, secret: str) -> str:
    # The key id is hashed with the secret, so a stored hash copied onto another key's row verifies nothing.
    return hmac.new(pepper, f"{key_id}.{secret}".encode(), hashlib.sha256).hexdigest()


def _new_key() -> tuple[str, str]:
    key_id = "".join(secrets.choice(KEY_ID_ALPHABET) for _ in range(KEY_ID_LENGTH))
    return key_id, secrets.token_urlsafe(SECRET_BYTES)


def _status(row: ApiCredential, now: datetime) -> CredentialStatus:
    if row.revoked_at is not None:
        return CredentialStatus.REVOKED
    if row.expires_at <= now:
        return CredentialStatus.EXPIRED
    return CredentialStatus.LIVE


def _info(row: ApiCredential, now: datetime) -> CredentialInfo:
    return CredentialInfo(
        key_id=row.key_id,
        department=row.department,
        kind=CredentialKind(row.kind),
        status=_status(row, now),
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
        created_at=row.created_at,
        created_by=row.created_by,
        comment=row.comment,
    )


def _expiry(settings: Settings, now: datetime, expires_at: datetime | None, days: int | None) -> datetime:
    longest = timedelta(days=settings.api_key_max_days)
    if expires_at is not None and days is not None:
        raise CredentialRejected(
            "give an expiry or a number of days, not both", rule="credentials.expiry", field="days"
        )
    if expires_at is None:
        days = settings.api_key_default_days if days is None else days
        if days < 1:
            raise CredentialRejected("a key lives at least one day", rule="credentials.expiry-past", field="days")
        if days > settings.api_key_max_days:
            raise CredentialRejected(
                f"a key lives at most {settings.api_key_max_days} days (api_key_max_days), not {days}",
                rule="credentials.expiry-too-far",
                field="days",
            )
        return now + timedelta(days=days)
    if expires_at.tzinfo is None:
        raise CredentialRejected(
            "the expiry needs a time zone offset", rule="credentials.expiry-aware", field="expires_at"
        )
    if expires_at <= now:
        raise CredentialRejected(
            f"the expiry {expires_at.isoformat()} is not in the future",
            rule="credentials.expiry-past",
            field="expires_at",
        )
    if expires_at > now + longest:
        raise CredentialRejected(
            f"the expiry {expires_at.isoformat()} is more than {settings.api_key_max_days} days away "
            "(api_key_max_days)",
            rule="credentials.expiry-too-far",
            field="expires_at",
        )
    return expires_at.astimezone(UTC)


async def issue_credential(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    department: str,
    *,
    kind: CredentialKind = CredentialKind.DEPARTMENT,
    expires_at: datetime | None = None,
    days: int | None = None,
    comment: str | None = None,
    created_by: str,
    clock: Clock = _utcnow,
) -> IssuedCredential:
    """Issues a key for a registry department; its secret is in the answer and nowhere else, ever.

    Without `expires_at` or `days` it lives api_key_default_days. Refused (CredentialRejected) for a department
    the registry does not know or has retired, an expiry not in the future or beyond api_key_max_days, and when
    the department already holds two live keys of that kind.
    """
    now = clock()
    expires = _expiry(settings, now, expires_at, days)
    pepper_id, pepper = settings.api_key_pepper_list()[0]
    key_id, secret = _new_key()
    async with sessions() as session, session.begin():
        # Locking the department's row serialises issuing per department, so two keys issued at once cannot both
        # pass the count below (on PostgreSQL; SQLite lets one writer at a time anyway).
        known = await session.scalar(select(Department).where(Department.code == department).with_for_update())
        if known is None:
            raise CredentialRejected(
                f"department {department} does not exist in the registry",
                rule="credentials.department-unknown",
                field="department",
            )
        if not known.active:
            raise CredentialRejected(
                f"department {department} is retired in the registry",
                rule="credentials.department-inactive",
                field="department",
            )
        repository = CredentialRepository(session)
        live = await repository.live(department, kind.value, now)
        if len(live) >= MAX_LIVE_KEYS:
            raise CredentialRejected(
                f"{department} already holds {len(live)} live {kind.value} keys "
                f"({', '.join(row.key_id for row in live)}); revoke one before issuing another",
                rule="credentials.two-live-keys",
                field="department",
            )
        row = ApiCredential(
            key_id=key_id,
            department=department,
            kind=kind.value,
            pepper_id=pepper_id,
            secret_hmac=_secret_hmac(pepper, key_id, secret),
            expires_at=expires,
            revoked_at=None,
            last_used_at=None,
            created_at=now,
            created_by=created_by,
            comment=comment,
        )
        repository.add(row)
    return IssuedCredential(**_info(row, now).model_dump(), api_key=f"{KEY_PREFIX}{key_id}_{secret}")


async def list_credentials(
    sessions: async_sessionmaker[AsyncSession], *, department: str | None = None, clock: Clock = _utcnow
) -> list[CredentialInfo]:
    now = clock()
    async with sessions() as session:
        return [_info(row, now) for row in await CredentialRepository(session).listing(department)]


async def revoke_credential(
    sessions: async_sessionmaker[AsyncSession], key_id: str, *, clock: Clock = _utcnow
) -> CredentialInfo:
    """Revokes a key for good. Revoking it again changes nothing and answers the first revocation."""
    now = clock()
    async with sessions() as session, session.begin():
        row = await CredentialRepository(session).revoke(key_id, now)
    if row is None:
        raise CredentialNotFound(f"no API key has the id {key_id}")
    return _info(row, now)


async def issue_development_credentials(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    departments: Iterable[str],
    *,
    operator_department: str | None = None,
    clock: Clock = _utcnow,
) -> dict[str, str]:
    """One department key per department, and one operator key, for the embedded stack; refused in production.

    Answers department code → API key, and the operator key under "operator". The operator key belongs to
    `operator_department`, or by default to SQ when the registry has it (else none is issued). Development keys
    an earlier run issued for the same department and kind are revoked first, so running it again never meets
    the two-live-keys rule.
    """
    if settings.environment is Environment.PRODUCTION:
        raise CredentialRejected(
            "development credentials are never issued in production", rule="credentials.development-only"
        )
    wanted: list[tuple[str, str, CredentialKind]] = [(d, d, CredentialKind.DEPARTMENT) for d in departments]
    if operator_department is None:
        async with sessions() as session:
            if await session.get(Department, "SQ") is not None:
                operator_department = "SQ"
    if operator_department is not None:
        wanted.append((OPERATOR_ENTRY, operator_department, CredentialKind.OPERATOR))
    issued: dict[str, str] = {}
    for entry, department, kind in wanted:
        now = clock()
        async with sessions() as session, session.begin():
            repository = CredentialRepository(session)
            for row in await repository.live(department, kind.value, now):
                if row.created_by == DEVELOPMENT_CREATOR:
                    await repository.revoke(row.key_id, now)
        credential = await issue_credential(
            sessions,
            settings,
            department,
            kind=kind,
            created_by=DEVELOPMENT_CREATOR,
            comment="development credential of the embedded stack",
            clock=clock,
        )
        issued[entry] = credential.api_key
    return issued


def write_development_credentials(path: Path, credentials: Mapping[str, str]) -> None:
    """Writes the keys as JSON readable by the owner only (0600), replacing any earlier file in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(dict(credentials), file, indent=2, sort_keys=True)
        file.write("\n")
    os.replace(partial, path)


def read_development_credentials(path: Path) -> dict[str, str]:
    loaded = json.loads(path.read_text(encoding="utf-8"))
    return {str(name): str(key) for name, key in loaded.items()}


class Authenticator:
    """Turns a bearer token (an API key, or a JWT where one is configured) into the Caller, or refuses it.

    One indexed read per API key request; revocation takes effect on the next request. last_used_at is written
    after the answer, by a background task, at most once a minute per key.
    """

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        http: httpx.AsyncClient,
        *,
        clock: Clock = _utcnow,
    ) -> None:
        self._sessions = sessions
        self._engine = engine_of(sessions)
        self._clock = clock
        self._peppers = settings.api_key_pepper_list()
        self._jwt: JwtVerifier | None = None
        if settings.jwt_configured:
            # Imported here: PyJWT and its cryptography load only where JWTs are accepted.
            from workers.door.tokens import JwtVerifier

            self._jwt = JwtVerifier(settings, http)
        self._recorded: dict[str, datetime] = {}  # key id → when this process last recorded its use
        self._pending: set[asyncio.Task[None]] = set()

    async def authenticate(self, token: str) -> Caller:
        if not token:
            raise CredentialRefused(RefusalReason.MISSING, "no credential: send Authorization: Bearer <API key or JWT>")
        if token.startswith(KEY_PREFIX):
            return await self._api_key(token)
        if token.count(".") == 2:
            if self._jwt is None:
                raise CredentialRefused(RefusalReason.JWT_NOT_ACCEPTED, "this deployment accepts no JWTs")
            return await self._jwt.verify(token)
        raise CredentialRefused(RefusalReason.MALFORMED, "the credential is neither an API key (clk_…) nor a JWT")

    async def drain(self) -> None:
        """Waits for the last_used_at writes still under way (on shutdown, and in tests)."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def _api_key(self, token: str) -> Caller:
        match = _API_KEY.fullmatch(token)
        if match is None:
            raise CredentialRefused(RefusalReason.MALFORMED, "the API key is malformed: expected clk_<key id>_<secret>")
        key_id, secret = match.groups()
        async with self._engine.connect() as connection:
            row = await credential_row(connection, key_id)
        if row is None:
            raise CredentialRefused(RefusalReason.UNKNOWN, f"no API key has the id {key_id}")
        # The secret is checked before the key's state, so only its holder learns that it was revoked or expired.
        pepper_id = self._verified_under(row, secret)
        if pepper_id is None:
            log.warning("api key with a wrong secret", key_id=key_id, stored_pepper=row.pepper_id)
            raise CredentialRefused(RefusalReason.BAD_SIGNATURE, f"the secret of API key {key_id} is wrong")
        now = self._clock()
        if row.revoked_at is not None:
            raise CredentialRefused(
                RefusalReason.REVOKED, f"API key {key_id} was revoked at {row.revoked_at.isoformat(timespec='seconds')}"
            )
        if row.expires_at <= now:
            raise CredentialRefused(
                RefusalReason.EXPIRED, f"API key {key_id} expired at {row.expires_at.isoformat(timespec='seconds')}"
            )
        rehash = None
        encoding_id, encoding = self._peppers[0]
        if pepper_id != encoding_id:
            rehash = (encoding_id, _secret_hmac(encoding, key_id, secret))
        self._record_use(row, now, rehash)
        return Caller(
            department=row.department,
            kind=CredentialKind(row.kind),
            credential_id=f"key:{key_id}",
            expires_at=row.expires_at,
        )

    def _verified_under(self, row: Row[Any], secret: str) -> str | None:
        """The id of the pepper the secret verifies under: the row's own first, then every other configured one."""
        candidates = sorted(self._peppers, key=lambda pepper: pepper[0] != row.pepper_id)
        matches = [
            pepper_id
            for pepper_id, pepper in candidates
            if hmac.compare_digest(_secret_hmac(pepper, row.key_id, secret), row.secret_hmac)
        ]
        return matches[0] if matches else None

    def _record_use(self, row: Row[Any], now: datetime, rehash: tuple[str, str] | None) -> None:
        recent = self._recorded.get(row.key_id)
        if recent is not None and now - recent < USE_RECORDED_EVERY:
            return  # this process wrote it (or the rehash) less than a minute ago
        if rehash is None and row.last_used_at is not None and now - row.last_used_at < USE_RECORDED_EVERY:
            return
        self._recorded[row.key_id] = now
        task = asyncio.create_task(self._write_use(row.key_id, now, rehash))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _write_use(self, key_id: str, now: datetime, rehash: tuple[str, str] | None) -> None:
        try:
            async with self._sessions() as session, session.begin():
                await CredentialRepository(session).record_use(key_id, now, USE_RECORDED_EVERY, rehash)
        except Exception:
            # Bookkeeping only: a busy store must not turn an authenticated request into a failure.
            log.warning("last_used_at not recorded", key_id=key_id, exc_info=True)
            self._recorded.pop(key_id, None)
