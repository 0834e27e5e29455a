"""A department's system down (nothing listens), then failing with 500s, then back: the case's push reaches it once,
as a receiver that de-duplicates by `webhook-id` and checks the Standard Webhooks signature counts it."""

from __future__ import annotations

import base64
import os
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook
from temporalio.testing import WorkflowEnvironment

from activities.store.delivery import DeliveryAttempt
from activities.store.migrate import upgrade
from caseloop.direct import CaseClient
from schemas.case import commands as c
from schemas.case.state import CasePolicy
from services.registry.importer import import_registry
from tests.case.conftest import REGISTRY
from tests.case.driver import Driver, coordinator
from tests.case.parties import LEAD
from tests.faults.world import assert_exactly_once
from tests.support.embedded_stack import free_ports
from workers.resources import Resources, open_resources
from workers.settings import Settings, get_settings
from workers.worker import build_worker

pytestmark = [pytest.mark.fault, pytest.mark.timeout(60)]

SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
DOWN_ATTEMPTS = 2  # refused connections before the department's system starts at all
FAILING_ANSWERS = 3  # 500s before it takes the push
STEP = timedelta(seconds=5)  # the first retry's interval; later ones double
MOST_STEPS = 200  # of skipped time: about a day, far beyond the attempts above


@dataclass
class DepartmentSystem:
    """A department's receiver on a port of its own, which does not listen until `start`: then answers 500 to its
    first `failing` pushes and 200 after, checks every signature, and counts deliveries by webhook-id."""

    port: int
    failing: int
    statuses: list[tuple[str, int]] = field(default_factory=list)  # (webhook-id, answered status)
    taken: Counter[str] = field(default_factory=Counter)  # webhook-id → 200s answered (the system acted on it)
    bad_signatures: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/push"

    @contextmanager
    def started(self) -> Iterator[None]:
        system = self
        verifier = Webhook(SECRET)
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {name.lower(): value for name, value in self.headers.items()}
                webhook_id = headers.get("webhook-id", "")
                try:
                    verifier.verify(body, headers)
                except Exception:
                    status = 401
                    with lock:
                        system.bad_signatures += 1
                else:
                    with lock:
                        failed = sum(1 for _, answered in system.statuses if answered == 500)
                        if failed < system.failing:
                            status = 500
                        elif system.taken[webhook_id]:
                            status = 200  # a repeat: acknowledged, not acted on again
                        else:
                            status = 200
                            system.taken[webhook_id] += 1
                with lock:
                    system.statuses.append((webhook_id, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield
        finally:
            server.shutdown()
            server.server_close()
            thread.join()


@pytest.fixture
def allowed_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The receiver is on 127.0.0.1, which the webhook URL rules refuse unless allowed; its secret on the worker."""
    monkeypatch.setenv("CASELOOP_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    monkeypatch.setenv("CASELOOP_SECRET_FAULT_LEAD", SECRET)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
async def sqlite_resources(tmp_path: Path) -> AsyncIterator[Resources]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    await upgrade(url)
    async with open_resources(Settings(_env_file=None, data_dir=tmp_path, store_url=url)) as resources:  # type: ignore[call-arg]
        yield resources


async def attempts_of(resources: Resources, department: str) -> list[DeliveryAttempt]:
    async with resources.sessions() as session:
        rows = await session.scalars(
            select(DeliveryAttempt).where(DeliveryAttempt.department_code == department).order_by(DeliveryAttempt.id)
        )
        return list(rows)


async def skip_until_attempts(env: WorkflowEnvironment, resources: Resources, count: int) -> list[DeliveryAttempt]:
    """Skips time a retry interval at a time until the lead's pushes have `count` attempts."""
    for _ in range(MOST_STEPS):
        attempts = await attempts_of(resources, LEAD)
        if len(attempts) >= count:
            return attempts
        await env.sleep(STEP)
    raise AssertionError(f"fewer than {count} attempts after {MOST_STEPS} steps: {await attempts_of(resources, LEAD)}")


async def test_a_push_to_a_department_down_then_failing_then_back_arrives_once(
    ts_env: WorkflowEnvironment, sqlite_resources: Resources, allowed_loopback: None, tmp_path: Path
) -> None:
    resources = sqlite_resources
    [port] = free_ports(1)
    department = DepartmentSystem(port, failing=FAILING_ANSWERS)
    registry = REGISTRY.read_text(encoding="utf-8").replace(
        "    name: 宿遷市住房和城鄉建設局\n",
        f"    name: 宿遷市住房和城鄉建設局\n    webhook_url: {department.url}\n    secret_ref: fault-lead\n",
    )
    assert department.url in registry
    (tmp_path / "registry.yaml").write_text(registry, encoding="utf-8")
    await import_registry(resources.sessions, [tmp_path / "registry.yaml"])

    queue = f"faults-{uuid.uuid4()}"
    driver = Driver(ts_env, queue, resources.sessions)
    engine = CaseClient(ts_env.client, Settings(_env_file=None, task_queue=queue))  # type: ignore[call-arg]
    async with build_worker(ts_env.client, resources, queue):
        try:
            # Attempts enough for the whole outage: the push must not go to the inbox instead.
            handle = await driver.start(policy=CasePolicy(push_attempts=20))
            case = engine.case_by_id(handle.id)
            accepted = await case.send(c.AcceptCase(actor=coordinator), command_id="accept-once")

            down = await skip_until_attempts(ts_env, resources, DOWN_ATTEMPTS)
            assert {(a.outcome, a.status_code) for a in down} == {("failed", None)}, "nothing listened"
            push_id = down[0].push_id
            with department.started():
                attempts = await skip_until_attempts(ts_env, resources, DOWN_ATTEMPTS + FAILING_ANSWERS + 1)
                statuses = list(department.statuses)

            assert [a.push_id for a in attempts] == [push_id] * len(attempts), "one push, retried"
            outcomes = [(a.outcome, a.status_code) for a in attempts]
            failed_down = outcomes[: len(outcomes) - FAILING_ANSWERS - 1]
            assert len(failed_down) >= DOWN_ATTEMPTS and set(failed_down) == {("failed", None)}
            assert outcomes[-FAILING_ANSWERS - 1 :] == [("failed", 500)] * FAILING_ANSWERS + [("delivered", 200)]
            # The transition's one try of all its pushes and SMS (deliver_transition), then the push's own activity.
            assert [a.attempt for a in attempts] == [1, *range(1, len(attempts))], "batch, then own activity"
            assert statuses == [(push_id, 500)] * FAILING_ANSWERS + [(push_id, 200)]
            assert department.taken == Counter({push_id: 1}), "delivered once"
            assert department.bad_signatures == 0

            await driver.settle()
            view = await driver.view(handle)
            assert view.undelivered == [], "nothing is left on its way"
            await assert_exactly_once(case, resources.sessions, {"accept-once": accepted})
            actions = [entry.action for entry in await driver.audit(handle.id)]
            assert "delivery_failed" not in actions and "delivery_handed_over" not in actions
        finally:
            await driver.stop_all()
