"""`caseloop codec-server` over real HTTP, as the Temporal Web UI calls it: decoded payloads for supervisors and
operators, ciphertext for everyone else, the front door's credential checked on every call, whether it comes as a
Bearer header or behind a browser's sign-in cookie."""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.common.v1 import Payload, Payloads

from activities.store.db import create_engine, create_session_factory
from schemas.access import Caller, CredentialKind
from tests.support.department_world import MARKET_REGULATOR, SUPERVISION_OFFICE, sample_store
from tests.support.embedded_stack import free_ports
from workers.codec import KEY_ID_METADATA, EncryptionCodec, Keyring
from workers.codec_server import SESSION_COOKIE, SignIns, build_codec_app
from workers.door.credentials import issue_credential, revoke_credential
from workers.door.serve import serving
from workers.logs import configure_logging
from workers.settings import LogFormat, Settings

OPERATOR_DEPARTMENT = "SQ"
NAMESPACE = "caseloop-test"
OTHER_ORIGIN = "http://evil.example"


@dataclass
class CodecWorld:
    url: str
    origin: str
    settings: Settings
    keys: dict[str, str]
    sessions: async_sessionmaker[AsyncSession]
    under_k1: EncryptionCodec
    under_k2: EncryptionCodec
    sign_ins: SignIns

    async def post(
        self,
        path: str,
        payloads: list[Payload],
        *,
        who: str | None,
        namespace: str | None = NAMESPACE,
        cookie: str | None = None,
        origin: str | None = None,
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json", "Origin": origin or self.origin}
        if who is not None:
            headers["Authorization"] = f"Bearer {self.keys.get(who, who)}"
        if cookie is not None:
            headers["Cookie"] = f"{SESSION_COOKIE}={cookie}"
        if namespace is not None:
            headers["X-Namespace"] = namespace
        async with httpx.AsyncClient(timeout=30) as http:
            return await http.post(f"{self.url}{path}", content=_body(payloads), headers=headers)


def _body(payloads: list[Payload]) -> str:
    """As the UI sends them: protobuf JSON, bytes in base64."""
    return json_format.MessageToJson(Payloads(payloads=payloads))


def _payloads(response: httpx.Response) -> list[Payload]:
    return list(json_format.ParseDict(response.json(), Payloads(), ignore_unknown_fields=True).payloads)


def _json(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=text.encode())


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture(scope="module")
async def codec_world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CodecWorld]:
    directory = tmp_path_factory.mktemp("codec")
    store = await sample_store(directory)
    ui_port, codec_port = free_ports(2)
    k1, k2 = _key(), _key()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=directory,
        store_url=store,
        temporal_namespace=NAMESPACE,
        encryption_keys=f"k2:{k2},k1:{k1}",
        ui_port=ui_port,
        codec_port=codec_port,
    )
    engine = create_engine(store)
    sessions = create_session_factory(engine)
    keys = {}
    for department in (SUPERVISION_OFFICE, MARKET_REGULATOR):
        keys[department] = (await issue_credential(sessions, settings, department, created_by="tests")).api_key
    operator = await issue_credential(
        sessions, settings, OPERATOR_DEPARTMENT, kind=CredentialKind.OPERATOR, created_by="tests"
    )
    keys["operator"] = operator.api_key
    sign_ins = SignIns(timedelta(hours=settings.codec_session_hours))
    async with serving(build_codec_app(settings, sessions=sessions, sign_ins=sign_ins), "127.0.0.1", codec_port):
        yield CodecWorld(
            url=f"http://127.0.0.1:{codec_port}",
            origin=settings.resolved_codec_ui_origin,
            settings=settings,
            keys=keys,
            sessions=sessions,
            under_k1=EncryptionCodec(Keyring.parse(f"k1:{k1}")),
            under_k2=EncryptionCodec(Keyring.parse(f"k2:{k2}")),
            sign_ins=sign_ins,
        )
    await engine.dispose()


@pytest.fixture
def structured_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The process's logging as `caseloop codec-server` sets it up; caplog holds structlog's event dicts."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging(LogFormat.JSON, "INFO")
    caplog.set_level(logging.INFO)
    yield caplog
    root.handlers[:] = handlers
    root.setLevel(level)


def _events(caplog: pytest.LogCaptureFixture, event: str) -> list[dict[str, Any]]:
    return [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == event]


async def _encrypted(world: CodecWorld) -> list[Payload]:
    """One payload written before the rotation (k1), one after (k2)."""
    return [*await world.under_k1.encode([_json('"王小明"')]), *await world.under_k2.encode([_json('"13812345678"')])]


async def test_a_supervisor_reads_payloads_in_clear_and_is_logged(
    codec_world: CodecWorld, structured_logs: pytest.LogCaptureFixture
) -> None:
    encrypted = await _encrypted(codec_world)
    answer = await codec_world.post("/decode", encrypted, who=SUPERVISION_OFFICE)
    assert answer.status_code == 200, answer.text
    assert [p.data for p in _payloads(answer)] == ['"王小明"'.encode(), b'"13812345678"']
    assert answer.headers["access-control-allow-origin"] == codec_world.origin
    [decoded] = _events(structured_logs, "payloads decoded")
    assert decoded["department"] == SUPERVISION_OFFICE, "every decode is logged with who asked"
    assert decoded["credential"].startswith("key:") and decoded["count"] == 2
    assert "王小明" not in structured_logs.text

    by_operator = await codec_world.post("/decode", encrypted, who="operator")
    assert [p.data for p in _payloads(by_operator)] == ['"王小明"'.encode(), b'"13812345678"']


async def test_anyone_else_gets_the_ciphertext_back(
    codec_world: CodecWorld, structured_logs: pytest.LogCaptureFixture
) -> None:
    encrypted = await _encrypted(codec_world)
    answer = await codec_world.post("/decode", encrypted, who=MARKET_REGULATOR)
    assert answer.status_code == 200, "the UI shows what it is given: ciphertext"
    assert _payloads(answer) == encrypted
    [refused] = _events(structured_logs, "decode refused: not a supervisor, payloads answered encrypted")
    assert refused["department"] == MARKET_REGULATOR and refused["count"] == 2


async def test_no_or_a_bad_credential_is_refused(codec_world: CodecWorld) -> None:
    encrypted = await _encrypted(codec_world)
    valid = codec_world.keys[SUPERVISION_OFFICE]
    for who in (None, "not-a-key", valid[:-4] + "AAAA", "clk_aaaaaaaaaaaa_" + "A" * 43):
        answer = await codec_world.post("/decode", encrypted, who=who)
        assert answer.status_code == 401, (who, answer.text)
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert _payloads(answer) == encrypted, "the refusal keeps the ciphertext, for the UI to show"


async def test_the_credential_is_checked_on_every_call(codec_world: CodecWorld) -> None:
    issued = await issue_credential(codec_world.sessions, codec_world.settings, SUPERVISION_OFFICE, created_by="tests")
    codec_world.keys["short-lived"] = issued.api_key
    encrypted = await _encrypted(codec_world)
    assert (await codec_world.post("/decode", encrypted, who="short-lived")).status_code == 200
    await revoke_credential(codec_world.sessions, issued.key_id)
    refused = await codec_world.post("/decode", encrypted, who="short-lived")
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]


async def test_the_namespace_must_be_the_configured_one(codec_world: CodecWorld) -> None:
    encrypted = await _encrypted(codec_world)
    other = await codec_world.post("/decode", encrypted, who=SUPERVISION_OFFICE, namespace="default")
    assert other.status_code == 403 and NAMESPACE in other.json()["detail"]
    assert _payloads(other) == encrypted
    missing = await codec_world.post("/decode", encrypted, who=SUPERVISION_OFFICE, namespace=None)
    assert missing.status_code == 400


async def test_cors_admits_the_ui_origin_only(codec_world: CodecWorld) -> None:
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    async with httpx.AsyncClient(timeout=30) as http:
        ui = await http.options(f"{codec_world.url}/decode", headers=asked | {"Origin": codec_world.origin})
        stranger = await http.options(f"{codec_world.url}/decode", headers=asked | {"Origin": OTHER_ORIGIN})
        plain = await http.post(
            f"{codec_world.url}/decode",
            content=_body([]),
            headers={"Origin": OTHER_ORIGIN, "Authorization": f"Bearer {codec_world.keys[SUPERVISION_OFFICE]}"},
        )
    assert ui.status_code == 200
    assert ui.headers["access-control-allow-origin"] == codec_world.origin
    allowed = {h.strip().lower() for h in ui.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "x-namespace"} <= allowed
    assert stranger.status_code == 400
    assert "access-control-allow-origin" not in stranger.headers
    assert "access-control-allow-origin" not in plain.headers, "a browser on another origin cannot read the answer"


async def test_encode_is_for_operators_only(codec_world: CodecWorld) -> None:
    clear = [_json('{"signal": "input"}')]
    for who in (SUPERVISION_OFFICE, MARKET_REGULATOR):
        refused = await codec_world.post("/encode", clear, who=who)
        assert refused.status_code == 403, (who, refused.text)
    encoded = await codec_world.post("/encode", clear, who="operator")
    assert encoded.status_code == 200, encoded.text
    [payload] = _payloads(encoded)
    assert payload.metadata[KEY_ID_METADATA] == b"k2", "encoded under the newest key"
    assert await codec_world.under_k2.decode([payload]) == clear


async def test_a_payload_under_an_unknown_key_stays_encrypted(codec_world: CodecWorld) -> None:
    stranger = EncryptionCodec(Keyring.parse(f"k9:{_key()}"))
    [foreign] = await stranger.encode([_json('"not ours"')])
    [ours] = await codec_world.under_k1.encode([_json('"ours"')])
    answer = await codec_world.post("/decode", [foreign, ours], who=SUPERVISION_OFFICE)
    assert answer.status_code == 200
    assert _payloads(answer) == [foreign, _json('"ours"')]


async def test_a_body_that_is_not_payloads_is_refused(codec_world: CodecWorld) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(
            f"{codec_world.url}/decode",
            content=b"[not json",
            headers={"Authorization": f"Bearer {codec_world.keys[SUPERVISION_OFFICE]}", "X-Namespace": NAMESPACE},
        )
    assert answer.status_code == 400


async def _sign_in(world: CodecWorld, credential: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """The sign-in form posted as a browser posts it from the codec server's own page."""
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(
            f"{world.url}/session",
            data={"credential": credential},
            headers=headers if headers is not None else {"Sec-Fetch-Site": "same-origin"},
        )


def _session_cookie(answer: httpx.Response) -> tuple[str, str]:
    """The session id and the whole Set-Cookie line of a sign-in."""
    [line] = answer.headers.get_list("set-cookie")
    assert line.startswith(f"{SESSION_COOKIE}="), line
    return line.split(";", 1)[0].split("=", 1)[1], line


async def test_a_supervisor_signs_in_and_the_cookie_decodes_until_the_key_is_revoked(
    codec_world: CodecWorld, structured_logs: pytest.LogCaptureFixture
) -> None:
    issued = await issue_credential(codec_world.sessions, codec_world.settings, SUPERVISION_OFFICE, created_by="tests")
    signed_in = await _sign_in(codec_world, issued.api_key)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/session"
    session_id, line = _session_cookie(signed_in)
    attributes = {part.strip().split("=")[0].lower() for part in line.split(";")[1:]}
    assert {"httponly", "path", "max-age"} <= attributes
    assert "samesite=strict" in line.lower()
    assert "secure" not in attributes, "plain http on 127.0.0.1: a Secure cookie would not come back"
    assert 0 < int(line.lower().split("max-age=")[1].split(";")[0]) <= 8 * 3600
    assert issued.api_key not in line and issued.key_id not in line, "the cookie is an opaque id"
    [opened] = _events(structured_logs, "codec sign-in")
    assert opened["department"] == SUPERVISION_OFFICE and opened["reader"] is True
    assert issued.api_key not in structured_logs.text

    async with httpx.AsyncClient(timeout=30) as http:
        page = await http.get(f"{codec_world.url}/session", headers={"Cookie": f"{SESSION_COOKIE}={session_id}"})
    assert SUPERVISION_OFFICE in page.text and "Include cross-origin credentials" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]

    encrypted = await _encrypted(codec_world)
    decoded = await codec_world.post("/decode", encrypted, who=None, cookie=session_id)
    assert decoded.status_code == 200, decoded.text
    assert [p.data for p in _payloads(decoded)] == ['"王小明"'.encode(), b'"13812345678"']
    assert decoded.headers["access-control-allow-origin"] == codec_world.origin
    assert decoded.headers["access-control-allow-credentials"] == "true"
    [logged] = _events(structured_logs, "payloads decoded")
    assert logged["credential"] == f"key:{issued.key_id}", "every decode is logged with who asked"

    elsewhere = await codec_world.post("/decode", encrypted, who=None, cookie=session_id, origin=OTHER_ORIGIN)
    assert elsewhere.status_code == 403, "a signed-in browser decodes for the UI's page only"
    assert _payloads(elsewhere) == encrypted

    await revoke_credential(codec_world.sessions, issued.key_id)
    revoked = await codec_world.post("/decode", encrypted, who=None, cookie=session_id)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    assert _payloads(revoked) == encrypted
    assert codec_world.sign_ins.find(session_id) is None, "the sign-in ended with its key"
    again = await codec_world.post("/decode", encrypted, who=None, cookie=session_id)
    assert again.status_code == 401 and "/session" in again.json()["detail"]


async def test_a_department_that_is_no_supervisor_signs_in_and_reads_ciphertext(codec_world: CodecWorld) -> None:
    signed_in = await _sign_in(codec_world, codec_world.keys[MARKET_REGULATOR])
    session_id, _ = _session_cookie(signed_in)
    async with httpx.AsyncClient(timeout=30) as http:
        page = await http.get(f"{codec_world.url}/session", headers={"Cookie": f"{SESSION_COOKIE}={session_id}"})
    assert "no supervisor" in page.text
    encrypted = await _encrypted(codec_world)
    answer = await codec_world.post("/decode", encrypted, who=None, cookie=session_id)
    assert answer.status_code == 200
    assert _payloads(answer) == encrypted


async def test_a_bad_credential_or_a_cross_site_form_signs_nobody_in(codec_world: CodecWorld) -> None:
    before = len(codec_world.sign_ins)
    for credential in ("not-a-key", codec_world.keys[SUPERVISION_OFFICE][:-4] + "AAAA", ""):
        refused = await _sign_in(codec_world, credential)
        assert refused.status_code in (400, 401), (credential, refused.text)
        assert "set-cookie" not in refused.headers
        assert "credential" in refused.text.lower() or "api key" in refused.text.lower()
    key = codec_world.keys[SUPERVISION_OFFICE]
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": OTHER_ORIGIN}):
        cross_site = await _sign_in(codec_world, key, headers)
        assert cross_site.status_code == 403, headers
        assert "set-cookie" not in cross_site.headers
    async with httpx.AsyncClient(timeout=30) as http:
        huge = await http.post(f"{codec_world.url}/session", content=b"credential=" + b"A" * (32 << 10))
    assert huge.status_code == 413
    assert len(codec_world.sign_ins) == before
    unknown = await codec_world.post("/decode", await _encrypted(codec_world), who=None, cookie="x" * 43)
    assert unknown.status_code == 401


async def test_signing_out_ends_the_sign_in(codec_world: CodecWorld) -> None:
    session_id, _ = _session_cookie(await _sign_in(codec_world, codec_world.keys[SUPERVISION_OFFICE]))
    async with httpx.AsyncClient(timeout=30) as http:
        out = await http.post(
            f"{codec_world.url}/session/end",
            headers={"Cookie": f"{SESSION_COOKIE}={session_id}", "Sec-Fetch-Site": "same-origin"},
        )
    assert out.status_code == 303
    assert "max-age=0" in out.headers["set-cookie"].lower() or "expires=" in out.headers["set-cookie"].lower()
    assert codec_world.sign_ins.find(session_id) is None
    refused = await codec_world.post("/decode", await _encrypted(codec_world), who=None, cookie=session_id)
    assert refused.status_code == 401


async def test_the_ui_may_send_credentials_from_its_origin_only(codec_world: CodecWorld) -> None:
    asked = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-namespace"}
    async with httpx.AsyncClient(timeout=30) as http:
        ui = await http.options(f"{codec_world.url}/decode", headers=asked | {"Origin": codec_world.origin})
        stranger = await http.options(f"{codec_world.url}/decode", headers=asked | {"Origin": OTHER_ORIGIN})
    assert ui.headers["access-control-allow-credentials"] == "true"
    assert ui.headers["access-control-allow-origin"] == codec_world.origin, "never * with credentials"
    assert "access-control-allow-origin" not in stranger.headers


def test_a_sign_in_ends_after_its_lifetime_or_with_its_credential_and_is_bounded() -> None:
    now = datetime(2026, 6, 1, 9, tzinfo=UTC)
    clock = [now]
    book = SignIns(timedelta(hours=8), capacity=2, clock=lambda: clock[0])
    long_lived = Caller(department="SQ-DCS", kind=CredentialKind.DEPARTMENT, credential_id="key:a")
    first, opened = book.open("clk_a", long_lived)
    assert opened.expires_at == now + timedelta(hours=8)
    short = long_lived.model_copy(update={"credential_id": "key:b", "expires_at": now + timedelta(hours=1)})
    second, ending_soon = book.open("clk_b", short)
    assert ending_soon.expires_at == now + timedelta(hours=1), "never past the credential's own expiry"
    third, _ = book.open("clk_c", long_lived)
    assert len(book) == 2 and book.find(second) is None, "full: the one closest to its end gave way"
    assert book.find(first) is not None and book.find(third) is not None
    clock[0] = now + timedelta(hours=8)
    assert book.find(first) is None and book.find(third) is None
    assert len(book) == 0
    assert "clk_a" not in repr(opened), "the credential stays out of reprs and logs"
