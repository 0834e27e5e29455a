"""`caseloop codec-server` over real HTTP, as the Temporal Web UI calls it: decoded payloads for supervisors and
operators, ciphertext for everyone else, the front door's credential checked on every call."""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.common.v1 import Payload, Payloads

from activities.store.db import create_engine, create_session_factory
from schemas.access import CredentialKind
from tests.support.department_world import MARKET_REGULATOR, SUPERVISION_OFFICE, sample_store
from tests.support.embedded_stack import free_ports
from workers.codec import KEY_ID_METADATA, EncryptionCodec, Keyring
from workers.codec_server import build_codec_app
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

    async def post(
        self, path: str, payloads: list[Payload], *, who: str | None, namespace: str | None = NAMESPACE
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json", "Origin": self.origin}
        if who is not None:
            headers["Authorization"] = f"Bearer {self.keys.get(who, who)}"
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
    async with serving(build_codec_app(settings, sessions=sessions), "127.0.0.1", codec_port):
        yield CodecWorld(
            url=f"http://127.0.0.1:{codec_port}",
            origin=settings.resolved_codec_ui_origin,
            settings=settings,
            keys=keys,
            sessions=sessions,
            under_k1=EncryptionCodec(Keyring.parse(f"k1:{k1}")),
            under_k2=EncryptionCodec(Keyring.parse(f"k2:{k2}")),
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
