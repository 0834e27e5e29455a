"""The world a department system meets over HTTP, for SDK and CLI tests: the real front door served by uvicorn on a
free 127.0.0.1 port, in front of the dev server and a worker on a real store with the sample registry, and real API
keys for the departments a test plays."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from caseloop.sdk.client import CaseClient
from schemas.access import CredentialKind
from services.registry.importer import import_registry
from tests.support.department_world import HOUSING, running_worker, sample_store, target_of
from tests.support.embedded_stack import free_ports
from workers.door.app import build_app
from workers.door.credentials import issue_credential
from workers.door.deps import DoorOptions
from workers.resources import Resources
from workers.settings import Settings

DEVELOPMENT_REFORM = "SQ-FGW"  # 發改委: the initiator of the tests' case matters, as of the sample's project matters


@asynccontextmanager
async def serving(app: Any, *, stand_in: bool = False) -> AsyncIterator[str]:
    """`app` served by uvicorn on a free 127.0.0.1 port (its lifespan too) until the block ends; yields its URL. A
    `stand_in` is a bare ASGI app: it has no lifespan, and what it still answers at the end is cut off at once."""
    [port] = free_ports(1)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off" if stand_in else "auto",
        timeout_graceful_shutdown=0 if stand_in else 1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)  # uvicorn tells it has started only by this flag
    if not server.started:
        server.should_exit = True
        await task
        raise RuntimeError("uvicorn did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def door_settings(env: WorkflowEnvironment, store_url: str, task_queue: str, data_dir: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        temporal_target=target_of(env),
        task_queue=task_queue,
        store_url=store_url,
        data_dir=data_dir,
    )


@dataclass
class World:
    """The door's URL and the keys issued so far, one per department (and kind)."""

    url: str
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    keys: dict[tuple[str, CredentialKind], str] = field(default_factory=dict)

    async def key(self, department: str, kind: CredentialKind = CredentialKind.DEPARTMENT) -> str:
        """A live API key of `department`, issued the first time it is asked for."""
        if (department, kind) not in self.keys:
            issued = await issue_credential(self.sessions, self.settings, department, kind=kind, created_by="tests")
            self.keys[department, kind] = issued.api_key
        return self.keys[department, kind]

    async def connect(
        self, department: str, *, kind: CredentialKind = CredentialKind.DEPARTMENT, within: float | None = 30
    ) -> CaseClient:
        return await CaseClient.connect(self.url, await self.key(department, kind), within=within)


@asynccontextmanager
async def running_door(
    env: WorkflowEnvironment,
    store_url: str,
    task_queue: str,
    data_dir: Path,
    sessions: async_sessionmaker[AsyncSession],
    *,
    options: DoorOptions | None = None,
    keys: dict[tuple[str, CredentialKind], str] | None = None,
) -> AsyncIterator[World]:
    """The door on `task_queue`; `keys` shares the keys another door on the same store issued (at most two live
    keys per department)."""
    settings = door_settings(env, store_url, task_queue, data_dir)
    app = build_app(settings, sessions=sessions, options=options)
    async with serving(app) as url:
        yield World(url, settings, sessions, keys if keys is not None else {})


async def add_launchable_matter(
    sessions: async_sessionmaker[AsyncSession],
    directory: Path,
    *,
    lead: str = HOUSING,
    initiator: str = DEVELOPMENT_REFORM,
) -> str:
    """A case matter of the test's own, led by `lead` and launched by `initiator`; the registry's defaults name its
    coordinator (SQ-YSB) and supervisor (SQ-DCS). Its code tells the test's cases from everyone else's."""
    code = f"T-{uuid.uuid4().hex[:12]}"
    file = directory / f"{code}.yaml"
    file.write_text(
        "matters:\n"
        f"  - code: {code}\n"
        "    name: 項目尾水管線施工協調(測試)\n"
        "    kind: case\n"
        "    trigger: issue_raised\n"
        f"    initiators: [{initiator}]\n"
        f"    lead: {lead}\n"
        "    card_profile: default\n"
        "    statutory_limit: 20 working-days\n",
        encoding="utf-8",
    )
    await import_registry(sessions, [file])
    return code


# The fixtures the SDK's and the CLI's tests share (their conftests import them): one store, task queue and worker
# per module, and a case matter per test.


@pytest.fixture(scope="module")
async def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return await sample_store(tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="module")
def queue() -> str:
    return f"world-{uuid.uuid4()}"


@pytest.fixture(scope="module")
async def worker(dev_env: WorkflowEnvironment, store: str, queue: str) -> AsyncIterator[Resources]:
    async with running_worker(dev_env, store, queue) as resources:
        yield resources


@pytest.fixture
async def matter(worker: Resources, tmp_path: Path) -> str:
    return await add_launchable_matter(worker.sessions, tmp_path)


def case_number(prefix: str = "2026") -> str:
    """A case number no other test uses: the initiator is the same department everywhere, on one dev server."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
