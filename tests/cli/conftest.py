"""CLI fixtures: the dev server, a worker on a SQLite store with the sample registry, and the CLI's settings
pointing at them through CASELOOP_* variables, as an operator's shell would."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.support.department_world import add_case_matter, running_worker, sample_store, target_of
from workers.resources import Resources
from workers.settings import get_settings


@pytest.fixture(scope="module")
async def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return await sample_store(tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="module")
def queue() -> str:
    return f"cli-{uuid.uuid4()}"


@pytest.fixture(scope="module")
async def worker(dev_env: WorkflowEnvironment, store: str, queue: str) -> AsyncIterator[Resources]:
    async with running_worker(dev_env, store, queue) as resources:
        yield resources


@pytest.fixture
def cli_env(
    dev_env: WorkflowEnvironment, store: str, queue: str, worker: Resources, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("CASELOOP_TEMPORAL_TARGET", target_of(dev_env))
    monkeypatch.setenv("CASELOOP_TASK_QUEUE", queue)
    monkeypatch.setenv("CASELOOP_STORE_URL", store)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
async def matter(worker: Resources, tmp_path: Path) -> str:
    return await add_case_matter(worker.sessions, tmp_path)
