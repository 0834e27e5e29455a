"""SDK fixtures: the dev server, one worker per module on a SQLite store with the sample registry, and a client."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from caseloop import CaseClient
from tests.support.department_world import add_case_matter, running_worker, sample_store, target_of
from workers.resources import Resources
from workers.settings import Settings


@pytest.fixture(scope="module")
async def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return await sample_store(tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="module")
def queue() -> str:
    return f"sdk-{uuid.uuid4()}"


@pytest.fixture(scope="module")
async def worker(dev_env: WorkflowEnvironment, store: str, queue: str) -> AsyncIterator[Resources]:
    async with running_worker(dev_env, store, queue) as resources:
        yield resources


@pytest.fixture
async def client(dev_env: WorkflowEnvironment, store: str, queue: str, worker: Resources) -> AsyncIterator[CaseClient]:
    """A department system's client; its system code is the test's own, so its case numbers never collide."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    async with await CaseClient.connect(
        settings,
        target=target_of(dev_env),
        task_queue=queue,
        store_url=store,
        system=f"sys-{uuid.uuid4().hex[:8]}",
        within=30,
    ) as client:
        yield client


@pytest.fixture
async def matter(worker: Resources, tmp_path: Path) -> str:
    return await add_case_matter(worker.sessions, tmp_path)
