"""SDK fixtures: the dev server, one worker per module on a SQLite store with the sample registry, the real front
door in front of them on a free port, and clients holding the API keys of the departments a test plays."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from caseloop import CaseClient
from tests.sdk.world import DEVELOPMENT_REFORM, World, add_launchable_matter, running_door
from tests.support.department_world import running_worker, sample_store
from workers.resources import Resources

Connect = Callable[[str], Awaitable[CaseClient]]


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


@pytest.fixture(scope="module")
async def door(
    dev_env: WorkflowEnvironment, store: str, queue: str, worker: Resources, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    async with running_door(dev_env, store, queue, tmp_path_factory.mktemp("door"), worker.sessions) as world:
        yield world


@pytest.fixture
async def connect(door: World) -> AsyncIterator[Connect]:
    """Connects as a department with its own key; the clients close when the test ends."""
    opened: list[CaseClient] = []

    async def as_department(department: str) -> CaseClient:
        client = await door.connect(department)
        opened.append(client)
        return client

    yield as_department
    for client in opened:
        await client.close()


@pytest.fixture
async def client(connect: Connect) -> CaseClient:
    """The initiating department's system (the development and reform commission launches the test matters)."""
    return await connect(DEVELOPMENT_REFORM)


@pytest.fixture
async def matter(worker: Resources, tmp_path: Path) -> str:
    return await add_launchable_matter(worker.sessions, tmp_path)
