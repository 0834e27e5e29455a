"""The requester hears back: an SMS from a template at launch, commitment, progress, the rating request and
closing (through the HTTP SMS provider, to a real receiver on 127.0.0.1), the channel's system a signed webhook
push of the same events (a real receiver checks the Standard Webhooks signature), and the public status lookup
answers only the stage, the committed deadline and the last progress line, and refuses a wrong code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from temporalio.testing import WorkflowEnvironment

from caseloop.direct import CaseClient
from services.registry.importer import import_registry
from tests.intake.conftest import COORDINATOR, HOTLINE, number
from tests.support.department_world import sample_store, target_of
from tests.support.embedded_stack import free_ports
from tests.support.eventually import eventually
from workers.door.app import build_app
from workers.door.credentials import issue_credential
from workers.door.serve import serving
from workers.resources import open_resources
from workers.settings import Settings, get_settings
from workers.worker import build_worker

LEAD = "SQ-ZJJ"
LOCALITY = "SQ-SCQ"
MOBILE = "13912345678"
SECRET_KEY = os.urandom(32)
SECRET = "whsec_" + base64.b64encode(SECRET_KEY).decode()


@dataclass
class Received:
    sms: list[dict[str, Any]] = field(default_factory=list)
    pushes: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0


def receivers(received: Received) -> FastAPI:
    """The SMS platform and the hotline's system, as the worker reaches them over HTTP."""
    app = FastAPI()

    @app.post("/sms")
    async def sms(request: Request) -> dict[str, str]:
        received.sms.append({"key": request.headers["Idempotency-Key"], **await request.json()})
        return {"status": "queued"}

    @app.post("/hotline/push")
    async def push(request: Request) -> dict[str, str]:
        body = await request.body()
        signed = b".".join(
            [request.headers["webhook-id"].encode(), request.headers["webhook-timestamp"].encode(), body]
        )
        expected = "v1," + base64.b64encode(hmac.new(SECRET_KEY, signed, hashlib.sha256).digest()).decode()
        if expected not in request.headers["webhook-signature"].split():
            received.bad_signatures += 1
            return {"status": "refused"}
        envelope = json.loads(body)
        assert envelope["kind"] == "channel_update"
        received.pushes.append({"id": request.headers["webhook-id"], **envelope["body"]})
        return {"status": "ok"}

    return app


@dataclass
class World:
    url: str
    keys: dict[str, str]
    engine: CaseClient
    received: Received
    app: FastAPI

    def client(self, who: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers={"Authorization": f"Bearer {self.keys[who]}"}, timeout=60)


@pytest.fixture(scope="module")
async def world(dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    directory = tmp_path_factory.mktemp("requester")
    receiver_port, door_port = free_ports(2)
    received = Received()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CASELOOP_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
        patch.setenv("CASELOOP_SECRET_SQ_12345_HOOK", SECRET)
        get_settings.cache_clear()
        store = await sample_store(directory)
        hook = directory / "hotline-hook.yaml"
        hook.write_text(
            "departments:\n"
            f"  - {{code: {HOTLINE}, name: 宿遷市12345政務服務便民熱線, level: city, parent: SQ,\n"
            f"     webhook_url: 'http://127.0.0.1:{receiver_port}/hotline/push', secret_ref: sq-12345-hook}}\n",
            encoding="utf-8",
        )
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            data_dir=directory,
            store_url=store,
            task_queue=f"requester-{uuid.uuid4()}",
            temporal_target=target_of(dev_env),
            sms_provider="http",
            sms_url=f"http://127.0.0.1:{receiver_port}/sms",
        )
        async with open_resources(settings) as resources, serving(receivers(received), "127.0.0.1", receiver_port):
            await import_registry(resources.sessions, [hook])
            keys = {
                department: (await issue_credential(resources.sessions, settings, department, created_by="t")).api_key
                for department in (HOTLINE, COORDINATOR, LEAD, LOCALITY)
            }
            engine = await CaseClient.connect(settings, within=30)
            app = build_app(settings, engine=engine, sessions=resources.sessions)
            async with (
                build_worker(dev_env.client, resources, settings.task_queue),
                serving(app, "127.0.0.1", door_port),
            ):
                yield World(url=f"http://127.0.0.1:{door_port}", keys=keys, engine=engine, received=received, app=app)
            await engine.close()
        get_settings.cache_clear()


async def command(world: World, who: str, case_id: str, verb: str, body: dict[str, Any]) -> None:
    async with world.client(who) as client:
        response = await client.post(f"/v1/cases/{case_id}/{verb}", json=body)
    assert response.status_code == 200, (verb, response.text)


async def sms_for(world: World, case_id: str, event: str) -> dict[str, Any]:
    def find() -> list[dict[str, Any]]:
        return [
            sms
            for sms in world.received.sms
            if sms["variables"].get("case_id") == case_id and sms["variables"]["event"] == event
        ]

    async def read() -> list[dict[str, Any]]:
        return find()

    [found] = await eventually(read, lambda found: len(found) == 1, what=f"the {event} SMS")
    return found


async def push_for(world: World, case_id: str, event: str) -> dict[str, Any]:
    async def read() -> list[dict[str, Any]]:
        return [p for p in world.received.pushes if p.get("case_id") == case_id and p.get("event") == event]

    [found] = await eventually(read, lambda found: len(found) == 1, what=f"the {event} push")
    return found


async def status(world: World, case_id: str, code: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=world.url) as anonymous:
        return await anonymous.post("/v1/status", json={"case_id": case_id, "code": code})


async def test_the_requester_and_the_channel_hear_of_every_step(world: World) -> None:
    order = {
        "work_order_number": number(),
        "category": "0301",
        "area_code": "321302",
        "address": "宿城區發展大道與洪澤湖路交叉口",
        "content": "施工圍擋佔用道路,車輛無法通行",
        "requester": {"mobile": MOBILE, "consent": True},
    }
    async with world.client(HOTLINE) as hotline:
        intake = (await hotline.post("/v1/intake/12345/work-orders", json=order)).json()
    case_id, code = intake["case_id"], intake["verification_code"]

    await command(world, COORDINATOR, case_id, "accept", {"role": "coordinator"})
    launched = await sms_for(world, case_id, "launched")
    assert launched["phones"] == [MOBILE] and launched["template_id"] == "requester_launched"
    assert launched["variables"]["verification_code"] == code
    pushed = await push_for(world, case_id, "launched")
    assert (pushed["channel"], pushed["reference"]) == ("12345", order["work_order_number"])
    assert MOBILE not in json.dumps(pushed)

    await command(world, LEAD, case_id, "sign", {"role": "lead"})
    await command(world, LOCALITY, case_id, "sign", {"role": "locality"})
    limit = {"amount": "10", "unit": "working-days"}
    await command(world, LEAD, case_id, "commit", {"role": "lead", "limit": limit, "plan": "拆除圍擋,恢復通行"})
    await command(world, LOCALITY, case_id, "cosign-commitment", {"role": "locality"})
    await command(world, COORDINATOR, case_id, "decide-commitment", {"role": "coordinator", "decision": "accept"})
    committed = await sms_for(world, case_id, "committed")
    view = await world.engine.case_by_id(case_id).state()
    assert view.committed_due_at is not None
    assert datetime.fromisoformat(committed["variables"]["committed_deadline"]) == view.committed_due_at

    await command(world, LEAD, case_id, "report-progress", {"role": "lead", "summary": "圍擋已拆除一半"})
    progress = await sms_for(world, case_id, "progress")
    assert progress["variables"]["progress"] == "圍擋已拆除一半"
    assert (await push_for(world, case_id, "progress"))["progress"] == "圍擋已拆除一半"

    answer = await status(world, case_id, code)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "case_id": case_id,
        "stage": "in_progress",
        "committed_deadline": view.committed_due_at.isoformat().replace("+00:00", "Z"),
        "last_progress": "圍擋已拆除一半",
    }

    await command(world, LEAD, case_id, "submit-closing-report", {"role": "lead", "result": "道路已恢復通行"})
    await command(world, LOCALITY, case_id, "cosign-closing-report", {"role": "locality"})
    await command(world, COORDINATOR, case_id, "review", {"role": "coordinator", "verdict": "pass"})
    await sms_for(world, case_id, "rating_request")
    await command(world, HOTLINE, case_id, "rate-follow-up", {"role": "requester", "rating": "very_satisfied"})
    assert (await push_for(world, case_id, "rated"))["rating"] == "very_satisfied"
    await command(world, COORDINATOR, case_id, "write-off", {"role": "coordinator"})
    await sms_for(world, case_id, "closed")
    await push_for(world, case_id, "closed")
    assert world.received.bad_signatures == 0
    assert not [sms for sms in world.received.sms if sms["variables"].get("event") == "rated"]


async def test_the_status_lookup_refuses_a_wrong_code_and_an_unknown_case(world: World) -> None:
    order = {
        "work_order_number": number(),
        "category": "0501",
        "area_code": "321311",
        "content": "企業用電報裝遲遲未辦",
    }
    async with world.client(HOTLINE) as hotline:
        intake = (await hotline.post("/v1/intake/12345/work-orders", json=order)).json()
    wrong = "22222222" if intake["verification_code"] != "22222222" else "33333333"
    refused = await status(world, intake["case_id"], wrong)
    assert (refused.status_code, refused.json()["rule"]) == (404, "status.code")
    unknown = await status(world, "case-SQ-12345~12345.NOPE", intake["verification_code"])
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == refused.json()["detail"]
    answer = await status(world, intake["case_id"], intake["verification_code"].lower())
    assert answer.status_code == 200
    assert set(answer.json()) == {"case_id", "stage", "committed_deadline", "last_progress"}
    # Without a requester contact no SMS goes out, and the hotline still hears of the launch.
    await command(world, COORDINATOR, intake["case_id"], "accept", {"role": "coordinator"})
    await push_for(world, intake["case_id"], "launched")
    assert not [s for s in world.received.sms if s["variables"].get("case_id") == intake["case_id"]]


async def test_the_channel_hears_that_its_work_orders_deadline_passed(world: World) -> None:
    received = datetime.now(UTC) - timedelta(days=2)
    order = {
        "work_order_number": number(),
        "category": "0301",
        "area_code": "321302",
        "content": "施工圍擋佔用道路,車輛無法通行",
        "received_at": received.isoformat(),
        "hotline_deadline": (received + timedelta(days=1)).isoformat(),
    }
    async with world.client(HOTLINE) as hotline:
        intake = (await hotline.post("/v1/intake/12345/work-orders", json=order)).json()
    pushed = await push_for(world, intake["case_id"], "deadline_passed")
    assert (pushed["channel"], pushed["reference"]) == ("12345", order["work_order_number"])
    assert datetime.fromisoformat(pushed["due_at"]) == received + timedelta(days=1)
