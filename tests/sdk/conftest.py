"""SDK fixtures: the dev server, one worker per module on a SQLite store with the sample registry, the real front
door in front of them on a free port, and clients holding the API keys of the departments a test plays."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from temporalio.testing import WorkflowEnvironment

from caseloop import CaseClient
from tests.sdk.world import DEVELOPMENT_REFORM, World, matter, queue, running_door, store, worker
from workers.resources import Resources

__all__ = ["matter", "queue", "store", "worker"]  # the world's fixtures

Connect = Callable[[str], Awaitable[CaseClient]]


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
