"""CLI fixtures: the dev server, a worker on a SQLite store with the sample registry, the real front door in front of
them, and the CLI pointed at the door through CASELOOP_* variables, with development keys in its data directory as
`caseloop up` writes them (`--as-department DEPT` picks one), as an operator's shell would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import pytest
from temporalio.testing import WorkflowEnvironment

from caseloop.commands.forms import DEVELOPMENT_CREDENTIALS
from tests.sdk.world import DEVELOPMENT_REFORM, World, matter, queue, running_door, store, worker
from tests.support.department_world import (
    APPROVAL_BUREAU,
    BUSINESS_OFFICE,
    HEALTH_COMMISSION,
    HOUSING,
    SUCHENG,
)
from workers.resources import Resources
from workers.settings import get_settings

__all__ = ["matter", "queue", "store", "worker"]  # the world's fixtures

LABOUR_BUREAU = "SQ-RSJ"  # 人社局: supervises labour dispatch licences
DEPARTMENTS = (DEVELOPMENT_REFORM, BUSINESS_OFFICE, HOUSING, SUCHENG, APPROVAL_BUREAU, HEALTH_COMMISSION, LABOUR_BUREAU)


@pytest.fixture(scope="module")
async def door(
    dev_env: WorkflowEnvironment, store: str, queue: str, worker: Resources, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    data_dir = tmp_path_factory.mktemp("data")
    async with running_door(dev_env, store, queue, data_dir, worker.sessions) as world:
        keys = {department: await world.key(department) for department in DEPARTMENTS}
        (data_dir / DEVELOPMENT_CREDENTIALS).write_text(json.dumps(keys), encoding="utf-8")
        yield world


@pytest.fixture
def cli_env(door: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("CASELOOP_API_KEY", raising=False)
    monkeypatch.setenv("CASELOOP_API_URL", door.url)
    monkeypatch.setenv("CASELOOP_DATA_DIR", str(door.settings.data_dir))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
