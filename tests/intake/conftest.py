"""The intake world: the dev server, a worker on a SQLite store holding the sample registry (with its channels),
the door served on a free 127.0.0.1 port, and an API key for every channel's department and a few others."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from caseloop.direct import CaseClient
from schemas.access import CredentialKind
from tests.support.department_world import running_worker, sample_store, target_of
from tests.support.door_clients import KeyedClients
from tests.support.embedded_stack import free_ports
from workers.door.app import build_app
from workers.door.credentials import issue_credential
from workers.door.serve import serving
from workers.settings import Settings

HOTLINE = "SQ-12345"
RATINGS = "SQ-HCP"
HALLS = "SQ-SPJ"  # the approval bureau runs the service halls and their 不好辦 window
PREPAID = "SQ-YFK"
COORDINATOR = "SQ-YSB"
OUTSIDER = "SQ-FGW"
OPERATOR = "SQ"


@dataclass
class IntakeWorld(KeyedClients):
    url: str
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    engine: CaseClient
    keys: dict[str, str]
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)


def number() -> str:
    """A record number no other test uses."""
    return f"T{uuid.uuid4().hex[:12].upper()}"


@pytest.fixture(scope="module")
async def world(dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[IntakeWorld]:
    directory = tmp_path_factory.mktemp("intake")
    store = await sample_store(directory)
    queue = f"intake-{uuid.uuid4()}"
    [door_port] = free_ports(1)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=directory, store_url=store, task_queue=queue, temporal_target=target_of(dev_env)
    )
    async with running_worker(dev_env, store, queue) as resources:
        keys: dict[str, str] = {}
        for department in (HOTLINE, RATINGS, HALLS, PREPAID, COORDINATOR, OUTSIDER):
            keys[department] = (
                await issue_credential(resources.sessions, settings, department, created_by="t")
            ).api_key
        operator = await issue_credential(
            resources.sessions, settings, OPERATOR, kind=CredentialKind.OPERATOR, created_by="tests"
        )
        keys["operator"] = operator.api_key
        engine = await CaseClient.connect(settings, within=30)
        app = build_app(settings, engine=engine, sessions=resources.sessions)
        async with serving(app, "127.0.0.1", door_port):
            world = IntakeWorld(
                url=f"http://127.0.0.1:{door_port}",
                settings=settings,
                sessions=resources.sessions,
                engine=engine,
                keys=keys,
            )
            try:
                yield world
            finally:
                await world.close_clients()
        await engine.close()


@dataclass
class ChannelDoor:
    """One channel's door on a server the module chooses (a time-skipping one, for the tests that skip time)."""

    url: str
    key: str
    engine: CaseClient
    sessions: async_sessionmaker[AsyncSession]


@asynccontextmanager
async def channel_door(
    env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory, name: str, channel: str
) -> AsyncIterator[ChannelDoor]:
    """The sample registry's store, a worker and a door on loopback, and a credential of `channel`'s."""
    directory = tmp_path_factory.mktemp(name)
    store = await sample_store(directory)
    queue = f"{name}-{uuid.uuid4()}"
    [door_port] = free_ports(1)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=directory, store_url=store, task_queue=queue, temporal_target=target_of(env)
    )
    async with running_worker(env, store, queue) as resources:
        key = (await issue_credential(resources.sessions, settings, channel, created_by="tests")).api_key
        engine = await CaseClient.connect(settings, within=30)
        async with serving(build_app(settings, engine=engine, sessions=resources.sessions), "127.0.0.1", door_port):
            yield ChannelDoor(f"http://127.0.0.1:{door_port}", key, engine, resources.sessions)
        await engine.close()
