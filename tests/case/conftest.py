"""Case workflow fixtures: the time-skipping server with the search attributes, a registry, a worker per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.registry.importer import import_registry
from tests.case.driver import Driver
from workers.resources import Resources
from workers.settings import get_settings
from workers.worker import build_worker

REGISTRY = Path(__file__).with_name("registry.yaml")


@pytest.fixture(autouse=True)
def local_webhooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The departments' receivers live on 127.0.0.1, which the webhook URL rules refuse unless allowed."""
    monkeypatch.setenv("CASELOOP_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
async def case_worker(ts_env: WorkflowEnvironment, resources: Resources, task_queue: str) -> AsyncIterator[Worker]:
    """The production worker (every workflow and activity) on a fresh store holding the test registry."""
    await import_registry(resources.sessions, [REGISTRY])
    async with build_worker(ts_env.client, resources, task_queue) as worker:
        yield worker


@pytest.fixture
async def driver(ts_env: WorkflowEnvironment, resources: Resources, task_queue: str) -> AsyncIterator[Driver]:
    driver = Driver(ts_env, task_queue, resources.sessions)
    yield driver
    await driver.stop_all()
