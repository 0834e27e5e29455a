"""OAuth2 client-credentials JWTs from the city's identity platform: verified against its JWKS, issuer and audience.

Only asymmetric algorithms are accepted, so nothing the door publishes or stores can sign a token; the claim
naming the department only names it (the door still checks the registry).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import structlog

from schemas.access import Caller, CredentialKind, RefusalReason
from workers.door.credentials import CredentialRefused
from workers.settings import Settings

log = structlog.get_logger(__name__)

ALGORITHMS = ("RS256", "ES256")
JWKS_TTL_SECONDS = 300.0
# An unknown kid refetches the JWKS (the issuer may have rotated), but no more often than this, so forged kids
# cannot make the door hammer the identity platform.
JWKS_REFRESH_SECONDS = 30.0
JWKS_TIMEOUT_SECONDS = 5.0
MAX_DEPARTMENT_LENGTH = 64


class JwksCache:
    """The issuer's signing keys by kid, fetched with the door's HTTP client and kept for a TTL."""

    def __init__(
        self,
        url: str,
        http: httpx.AsyncClient,
        *,
        ttl: float = JWKS_TTL_SECONDS,
        refresh_after: float = JWKS_REFRESH_SECONDS,
    ) -> None:
        self._url = url
        self._http = http
        self._ttl = ttl
        self._refresh_after = refresh_after
        self._keys: dict[str | None, dict[str, Any]] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None) -> dict[str, Any] | None:
        """The JWK for `kid` (a JWKS of one key also serves a token without a kid), or None."""
        seen = self._fetched_at
        if seen is None or time.monotonic() - seen > self._ttl:
            await self._refresh(seen)
        found = self._find(kid)
        seen = self._fetched_at
        if found is None and seen is not None and time.monotonic() - seen >= self._refresh_after:
            await self._refresh(seen)
            found = self._find(kid)
        return found

    def _find(self, kid: str | None) -> dict[str, Any] | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    async def _refresh(self, seen: float | None) -> None:
        async with self._lock:
            if self._fetched_at != seen:
                return  # another request refreshed the keys while this one waited
            try:
                response = await self._http.get(self._url, timeout=JWKS_TIMEOUT_SECONDS)
                response.raise_for_status()
                keys = response.json()["keys"]
                self._keys = {
                    key.get("kid"): key for key in keys if isinstance(key, dict) and key.get("use", "sig") == "sig"
                }
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
                if not self._keys:
                    log.warning("jwks unreachable", url=self._url, error=str(error))
                    raise CredentialRefused(
                        RefusalReason.ISSUER_UNREACHABLE, "the identity platform's signing keys cannot be fetched"
                    ) from None
                # Keep serving the keys we have: an outage of the identity platform should not stop the door.
                log.warning("jwks refresh failed; keeping the cached keys", url=self._url, error=str(error))
            self._fetched_at = time.monotonic()


class JwtVerifier:
    def __init__(self, settings: Settings, http: httpx.AsyncClient, *, keys: JwksCache | None = None) -> None:
        if not (settings.jwt_issuer and settings.jwt_jwks_url and settings.jwt_audience):
            raise ValueError("JWTs need jwt_issuer, jwt_jwks_url and jwt_audience")
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._issuer_host = urlsplit(settings.jwt_issuer).hostname or settings.jwt_issuer
        self._department_claim = settings.jwt_department_claim
        self._operator_claim = settings.jwt_operator_claim
        self._leeway = settings.jwt_leeway_seconds
        self._keys = keys or JwksCache(settings.jwt_jwks_url, http)

    async def verify(self, token: str) -> Caller:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise CredentialRefused(RefusalReason.MALFORMED, "the JWT cannot be decoded") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise CredentialRefused(
                RefusalReason.UNSUPPORTED_ALGORITHM, f"JWTs are accepted signed with {' or '.join(ALGORITHMS)} only"
            )
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise CredentialRefused(RefusalReason.MALFORMED, "the JWT's kid is not a string")
        jwk = await self._keys.key(kid)
        if jwk is None or jwk.get("alg", algorithm) != algorithm:
            raise CredentialRefused(RefusalReason.UNKNOWN_SIGNING_KEY, "the issuer publishes no such signing key")
        try:
            key = jwt.PyJWK(jwk, algorithm=algorithm)
        except (jwt.PyJWKError, jwt.InvalidKeyError):
            raise CredentialRefused(
                RefusalReason.UNKNOWN_SIGNING_KEY, "the issuer publishes no such signing key"
            ) from None
        claims = self._decode(token, key, algorithm)
        return self._caller(claims)

    def _decode(self, token: str, key: jwt.PyJWK, algorithm: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise CredentialRefused(RefusalReason.EXPIRED, "the JWT has expired") from None
        except jwt.ImmatureSignatureError:
            raise CredentialRefused(RefusalReason.NOT_YET_VALID, "the JWT is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise CredentialRefused(RefusalReason.WRONG_AUDIENCE, "the JWT is for another audience") from None
        except jwt.InvalidIssuerError:
            raise CredentialRefused(RefusalReason.WRONG_ISSUER, "the JWT is from another issuer") from None
        except jwt.InvalidSignatureError:
            raise CredentialRefused(RefusalReason.BAD_SIGNATURE, "the JWT's signature does not verify") from None
        except jwt.MissingRequiredClaimError as error:
            raise CredentialRefused(RefusalReason.MALFORMED, f"the JWT lacks the {error.claim} claim") from None
        except jwt.InvalidTokenError:
            raise CredentialRefused(RefusalReason.MALFORMED, "the JWT is malformed") from None

    def _caller(self, claims: dict[str, Any]) -> Caller:
        department = claims.get(self._department_claim)
        if not isinstance(department, str) or not department.strip() or len(department) > MAX_DEPARTMENT_LENGTH:
            raise CredentialRefused(
                RefusalReason.NO_DEPARTMENT, f"the JWT has no {self._department_claim} claim naming a department"
            )
        # Client-credentials tokens name the client in sub on most platforms, in client_id or azp on some.
        subject = next(
            (
                claims[name]
                for name in ("sub", "client_id", "azp")
                if isinstance(claims.get(name), str) and claims[name]
            ),
            None,
        )
        if subject is None:
            raise CredentialRefused(RefusalReason.MALFORMED, "the JWT names no subject (sub, client_id or azp)")
        operator = claims.get(self._operator_claim) in (True, "true")
        try:
            expires_at = datetime.fromtimestamp(claims["exp"], UTC)
        except (OverflowError, OSError, ValueError):
            raise CredentialRefused(RefusalReason.MALFORMED, "the JWT's exp is out of range") from None
        return Caller(
            department=department,
            kind=CredentialKind.OPERATOR if operator else CredentialKind.DEPARTMENT,
            credential_id=f"jwt:{self._issuer_host}:{subject}"[:200],
            expires_at=expires_at,
        )
