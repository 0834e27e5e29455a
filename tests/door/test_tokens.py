"""OAuth2 client-credentials JWTs, verified against a JWKS served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from schemas.access import CredentialKind, RefusalReason
from tests.support.production import production_settings
from workers.door.credentials import Authenticator, CredentialRefused
from workers.door.tokens import JwksCache, JwtVerifier
from workers.settings import Settings

ISSUER = "https://sso.suqian.example/realms/city"
AUDIENCE = "caseloop"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
STRANGER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(private: Any, kid: str, alg: str) -> dict[str, Any]:
    algorithm = jwt.get_algorithm_by_name(alg)
    data: dict[str, Any] = json.loads(algorithm.to_jwk(private.public_key()))
    return data | {"kid": kid, "alg": alg, "use": "sig"}


@dataclass
class JwksServer:
    """The identity platform's JWKS endpoint; `keys` may change under it, `fetches` counts the requests."""

    url: str
    keys: list[dict[str, Any]]
    fetches: list[float] = field(default_factory=list)


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    served = JwksServer(url="", keys=[public_jwk(RSA_KEY, "rsa-1", "RS256"), public_jwk(EC_KEY, "ec-1", "ES256")])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.fetches.append(time.monotonic())
            body = json.dumps({"keys": served.keys}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served.url = f"http://127.0.0.1:{server.server_address[1]}/realms/city/protocol/openid-connect/certs"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served
    server.shutdown()
    server.server_close()


def jwt_settings(tmp_path: Path, jwks_url: str) -> Settings:
    return Settings(data_dir=tmp_path, jwt_issuer=ISSUER, jwt_jwks_url=jwks_url, jwt_audience=AUDIENCE)


@pytest.fixture
def verifier(tmp_path: Path, jwks: JwksServer, http: httpx.AsyncClient) -> JwtVerifier:
    return JwtVerifier(jwt_settings(tmp_path, jwks.url), http)


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    values: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "service-account-spj",
        "iat": now,
        "exp": now + 300,
        "department": "SQ-SPJ",
    }
    values |= changes
    return {name: value for name, value in values.items() if value is not None}


def signed(payload: dict[str, Any], key: Any = RSA_KEY, alg: str = "RS256", kid: str | None = "rsa-1") -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(payload, key, algorithm=alg, headers=headers)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], payload: dict[str, Any], sign: Any = None) -> str:
    """A token built by hand, as a forger would, since PyJWT refuses to make these."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = sign(signing_input.encode()) if sign is not None else b""
    return f"{signing_input}.{b64(signature)}"


async def refusal(verifier: JwtVerifier, token: str) -> RefusalReason:
    with pytest.raises(CredentialRefused) as caught:
        await verifier.verify(token)
    return caught.value.reason


async def test_a_token_from_the_issuer_names_the_department(verifier: JwtVerifier, jwks: JwksServer) -> None:
    caller = await verifier.verify(signed(claims()))
    assert caller.department == "SQ-SPJ"
    assert caller.kind is CredentialKind.DEPARTMENT
    assert caller.credential_id == "jwt:sso.suqian.example:service-account-spj"
    assert caller.expires_at is not None and abs(caller.expires_at.timestamp() - time.time() - 300) < 5

    ec_caller = await verifier.verify(signed(claims(department="SQ-FGW"), EC_KEY, "ES256", "ec-1"))
    assert ec_caller.department == "SQ-FGW"
    operator = await verifier.verify(signed(claims(department="SQ", caseloop_operator=True)))
    assert (operator.department, operator.kind) == ("SQ", CredentialKind.OPERATOR)
    assert (await verifier.verify(signed(claims(caseloop_operator=False)))).kind is CredentialKind.DEPARTMENT
    # Some platforms name a client-credentials client in azp rather than sub.
    azp = await verifier.verify(signed(claims(sub=None, azp="spj-system")))
    assert azp.credential_id == "jwt:sso.suqian.example:spj-system"
    # The JWKS is fetched once and kept.
    assert len(jwks.fetches) == 1


async def test_tokens_outside_the_configuration_are_refused(verifier: JwtVerifier) -> None:
    now = int(time.time())
    refused = {
        "other issuer": (signed(claims(iss="https://elsewhere.example/")), RefusalReason.WRONG_ISSUER),
        "other audience": (signed(claims(aud="another-api")), RefusalReason.WRONG_AUDIENCE),
        "expired": (signed(claims(iat=now - 600, exp=now - 120)), RefusalReason.EXPIRED),
        "not yet valid": (signed(claims(nbf=now + 120)), RefusalReason.NOT_YET_VALID),
        "no expiry": (signed(claims(exp=None)), RefusalReason.MALFORMED),
        "no audience": (signed(claims(aud=None)), RefusalReason.MALFORMED),
        "no department": (signed(claims(department=None)), RefusalReason.NO_DEPARTMENT),
        "empty department": (signed(claims(department=" ")), RefusalReason.NO_DEPARTMENT),
        "department not a string": (signed(claims(department=["SQ-SPJ"])), RefusalReason.NO_DEPARTMENT),
        "no subject": (signed(claims(sub=None)), RefusalReason.MALFORMED),
        "unknown kid": (signed(claims(), kid="rsa-9"), RefusalReason.UNKNOWN_SIGNING_KEY),
        "no kid among two keys": (signed(claims(), kid=None), RefusalReason.UNKNOWN_SIGNING_KEY),
        "another key under our kid": (signed(claims(), STRANGER_KEY), RefusalReason.BAD_SIGNATURE),
        "RS256 kid with ES256": (signed(claims(), EC_KEY, "ES256", "rsa-1"), RefusalReason.UNKNOWN_SIGNING_KEY),
        "RS384": (signed(claims(), alg="RS384"), RefusalReason.UNSUPPORTED_ALGORITHM),
        "garbage": ("abc.def.ghi", RefusalReason.MALFORMED),
    }
    for name, (token, reason) in refused.items():
        assert await refusal(verifier, token) == reason, name

    # Within the leeway (30 s) a just-expired token still counts.
    assert (await verifier.verify(signed(claims(iat=now - 600, exp=now - 10)))).department == "SQ-SPJ"


async def test_forged_algorithms_are_refused(verifier: JwtVerifier) -> None:
    unsigned = hand_made({"alg": "none", "typ": "JWT", "kid": "rsa-1"}, claims())
    assert await refusal(verifier, unsigned) is RefusalReason.UNSUPPORTED_ALGORITHM
    # The classic confusion: an HMAC made with the issuer's public key as the secret.
    public_pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forged = hand_made(
        {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"},
        claims(),
        lambda message: hmac.new(public_pem, message, hashlib.sha256).digest(),
    )
    assert await refusal(verifier, forged) is RefusalReason.UNSUPPORTED_ALGORITHM
    # Claiming RS256 over a signature of something else does not help either.
    tampered = signed(claims()).rsplit(".", 2)
    tampered[1] = b64(json.dumps(claims(department="SQ-DCS")).encode())
    assert await refusal(verifier, ".".join(tampered)) is RefusalReason.BAD_SIGNATURE


async def test_a_single_key_serves_tokens_without_kid(
    tmp_path: Path, jwks: JwksServer, http: httpx.AsyncClient
) -> None:
    jwks.keys = [public_jwk(RSA_KEY, "only", "RS256")]
    verifier = JwtVerifier(jwt_settings(tmp_path, jwks.url), http)
    assert (await verifier.verify(signed(claims(), kid=None))).department == "SQ-SPJ"


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A port bound but never listened on, so a connection to it is refused."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield int(bound.getsockname()[1])


async def test_an_unreachable_issuer_is_said_so(tmp_path: Path, http: httpx.AsyncClient) -> None:
    with refusing_port() as port:
        verifier = JwtVerifier(jwt_settings(tmp_path, f"http://127.0.0.1:{port}/certs"), http)
        assert await refusal(verifier, signed(claims())) is RefusalReason.ISSUER_UNREACHABLE


async def test_keys_the_issuer_rotates_in_are_fetched(
    tmp_path: Path, jwks: JwksServer, http: httpx.AsyncClient
) -> None:
    settings = jwt_settings(tmp_path, jwks.url)
    verifier = JwtVerifier(settings, http, keys=JwksCache(jwks.url, http, refresh_after=0))
    assert (await verifier.verify(signed(claims()))).department == "SQ-SPJ"
    jwks.keys = [public_jwk(STRANGER_KEY, "rsa-2", "RS256")]
    assert (await verifier.verify(signed(claims(), STRANGER_KEY, kid="rsa-2"))).department == "SQ-SPJ"
    assert len(jwks.fetches) == 2
    # With the default pacing an unknown kid right after a fetch does not fetch again.
    paced = JwtVerifier(settings, http)
    assert (await paced.verify(signed(claims(), STRANGER_KEY, kid="rsa-2"))).department == "SQ-SPJ"
    for _ in range(3):
        assert await refusal(paced, signed(claims(), kid="rsa-forged")) is RefusalReason.UNKNOWN_SIGNING_KEY
    assert len(jwks.fetches) == 3


async def test_the_authenticator_routes_jwts_and_api_keys(
    tmp_path: Path, jwks: JwksServer, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    authenticator = Authenticator(jwt_settings(tmp_path, jwks.url), sessions, http)
    assert (await authenticator.authenticate(signed(claims()))).department == "SQ-SPJ"
    for token, reason in (
        (signed(claims(aud="another-api")), RefusalReason.WRONG_AUDIENCE),
        (f"clk_{'a' * 12}_{'b' * 43}", RefusalReason.UNKNOWN),
        ("a.b", RefusalReason.MALFORMED),
    ):
        with pytest.raises(CredentialRefused) as caught:
            await authenticator.authenticate(token)
        assert caught.value.reason is reason

    # Without an issuer configured, the same valid token is refused.
    plain = Authenticator(Settings(data_dir=tmp_path), sessions, http)
    with pytest.raises(CredentialRefused) as caught:
        await plain.authenticate(signed(claims()))
    assert caught.value.reason is RefusalReason.JWT_NOT_ACCEPTED


def test_jwt_settings_come_whole(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="set together"):
        Settings(data_dir=tmp_path, jwt_issuer=ISSUER)
    production = production_settings()
    jwt_parts = {"jwt_issuer": ISSUER, "jwt_audience": AUDIENCE}
    with pytest.raises(ValueError, match="https"):
        Settings.model_validate(production | jwt_parts | {"jwt_jwks_url": "http://sso/certs"})
    assert Settings.model_validate(production | jwt_parts | {"jwt_jwks_url": "https://sso/certs"}).jwt_configured
