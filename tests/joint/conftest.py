"""The world of departments working for each other: the sample registry in a SQLite store, the marital-status item
pointed at an answering system on 127.0.0.1, a worker on the test's queue, and the front door."""

from __future__ import annotations

import base64
import ipaddress
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.clock.activities import ClockActivities
from activities.gateway.delivery import GatewayActivities
from activities.gateway.endpoints import WebhookPolicy
from activities.joint.records import ApplicantActivities, JointActivities
from activities.ledger import LedgerActivities
from activities.notify.providers import HttpSmsProvider
from activities.scheduled.days import ScheduledDeliveryActivities
from activities.verify.calls import VerificationActivities
from caseloop.direct import CaseClient
from services.registry.importer import import_registry
from tests.joint.answering import AnsweringSystem
from tests.support.department_world import sample_store, target_of
from tests.support.door_clients import KeyedClients
from tests.support.embedded_stack import free_ports
from workers.door.app import build_app
from workers.door.credentials import issue_credential
from workers.door.serve import serving
from workers.resources import open_resources
from workers.settings import Settings, get_settings
from workers.worker import workflow_runner
from workflows.delivery.workflow import DeliveryDayWorkflow
from workflows.joint.workflow import JointWorkflow
from workflows.verify.workflow import VerificationWorkflow

FUND = "SQ-GJJ"  # 住房公積金中心: granted the marital-status item
CIVIL_AFFAIRS = "SQ-MZJ"  # 民政局: answers it
HEALTH = "SQ-WJW"  # 衛健委: not granted it
HOUSING = "SQ-ZJJ"  # 住建局: confirms the purchase record in the withdrawal
COLLECTORS = "SQ-FGW"  # 發改委's price collectors: deliver the daily farm prices
CANTEEN_PLATFORM = "SQ-SCJGJ"  # 市場監管局's school-canteen platform: receives them
MARRIAGE_ITEM = "MZ-HYDJ"
SECRET_REF = "t-mzj-verify"
SECRET = "whsec_" + base64.b64encode(b"marriage-registry-signing-key-32b").decode()
LOCAL = WebhookPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),))


@dataclass
class JointWorld(KeyedClients):
    url: str
    env: WorkflowEnvironment
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    answering: AnsweringSystem
    keys: dict[str, str]
    sms: list[dict[str, object]] = field(default_factory=list)
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)


def sms_platform(received: list[dict[str, object]]) -> FastAPI:
    """The government SMS platform on 127.0.0.1: it keeps what it is asked to send."""
    app = FastAPI()

    @app.post("/sms")
    async def send(request: Request) -> dict[str, str]:
        received.append(await request.json())
        return {"status": "queued"}

    return app


async def point_item_at(sessions: async_sessionmaker[AsyncSession], directory: Path, url: str) -> None:
    """Re-imports the sample's marital-status item with the test system's endpoint and secret."""
    file = directory / "local-item.yaml"
    file.write_text(
        "shared_items:\n"
        f"  - code: {MARRIAGE_ITEM}\n"
        "    name: 婚姻登記信息核驗\n"
        f"    department: {CIVIL_AFFAIRS}\n"
        "    system: 民政婚姻登記信息系統\n"
        f"    endpoint_url: {url}\n"
        f"    secret_ref: {SECRET_REF}\n"
        "    timeout_seconds: 5\n"
        f"    grantees: [{FUND}]\n",
        encoding="utf-8",
    )
    await import_registry(sessions, [file])


@pytest.fixture
async def joint_world(
    dev_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[JointWorld]:
    monkeypatch.setenv("CASELOOP_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    get_settings.cache_clear()
    store = await sample_store(tmp_path)
    queue = f"joint-{uuid.uuid4()}"
    system_port, door_port, sms_port = free_ports(3)
    sms: list[dict[str, object]] = []
    answering = AnsweringSystem(SECRET, {"320000199001011234": {"married": True, "since": "2015-05-20"}})
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path, store_url=store, task_queue=queue, temporal_target=target_of(dev_env)
    )
    secrets = {SECRET_REF: SECRET.encode()}
    try:
        async with open_resources(settings) as resources:
            await point_item_at(resources.sessions, tmp_path, f"http://127.0.0.1:{system_port}/verify")
            verification = VerificationActivities(resources.sessions, resources.http, secrets.get, policy=LOCAL)
            scheduled = ScheduledDeliveryActivities(resources.sessions)
            ledger = LedgerActivities(resources.sessions)
            gateway = GatewayActivities(resources.sessions, resources.http, secrets.get, policy=LOCAL)
            joint = JointActivities(resources.sessions)
            applicant = ApplicantActivities(
                resources.sessions, HttpSmsProvider(resources.http, f"http://127.0.0.1:{sms_port}/sms")
            )
            worker = Worker(
                dev_env.client,
                task_queue=queue,
                workflows=[VerificationWorkflow, DeliveryDayWorkflow, JointWorkflow],
                activities=[
                    joint.plan_joint,
                    joint.record_joint,
                    ClockActivities(resources.sessions).compute_deadline,
                    ClockActivities(resources.sessions).schedule_rungs,
                    verification.verify,
                    scheduled.plan_delivery_day,
                    scheduled.record_delivery_day,
                    ledger.record_card,
                    ledger.record_score_event,
                    gateway.deliver_push,
                    applicant.text_applicant,
                ],
                workflow_runner=workflow_runner(),
            )
            keys = {}
            for department in (FUND, HEALTH, CIVIL_AFFAIRS, COLLECTORS, CANTEEN_PLATFORM, HOUSING):
                issued = await issue_credential(resources.sessions, settings, department, created_by="tests")
                keys[department] = issued.api_key
            engine = await CaseClient.connect(settings, within=30)
            app = build_app(settings, engine=engine, sessions=resources.sessions)
            async with (
                worker,
                serving(answering.app(), "127.0.0.1", system_port),
                serving(app, "127.0.0.1", door_port),
                serving(sms_platform(sms), "127.0.0.1", sms_port),
            ):
                world = JointWorld(
                    f"http://127.0.0.1:{door_port}", dev_env, settings, resources.sessions, answering, keys, sms
                )
                try:
                    yield world
                finally:
                    for client in world.clients.values():
                        await client.aclose()
            await engine.close()
    finally:
        get_settings.cache_clear()
