"""The world a department system meets, for SDK and CLI tests: the dev server, a worker on a SQLite store that holds
the Suqian sample registry, and a case matter of the test's own so that visibility filters see only its cases."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.store.migrate import upgrade
from caseloop.cli import main
from services.registry.importer import import_registry
from services.registry.sample import load_sample_registry_if_empty
from workers.resources import Resources, open_resources
from workers.settings import Settings
from workers.worker import build_worker

# Sample registry codes (activities/registry/suqian.yaml) the tests play with.
HOUSING = "SQ-ZJJ"  # 住建局: the lead of the test matters
SUCHENG = "SQ-SCQ"  # 宿城區: a district, the locality
SUYU = "SQ-SYQ"  # 宿豫區: another district
BUSINESS_OFFICE = "SQ-YSB"  # 優化營商環境辦公室: the coordinator
SUPERVISION_OFFICE = "SQ-DCS"  # 督查室: the supervisor
APPROVAL_BUREAU = "SQ-SPJ"  # 行政審批局
HEALTH_COMMISSION = "SQ-WJW"  # 衛健委: supervises public-place health licences
MARKET_REGULATOR = "SQ-SCJGJ"

T = TypeVar("T")


def target_of(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


async def sample_store(directory: Path) -> str:
    """A migrated SQLite store holding the sample registry, in an existing directory; returns its URL."""
    url = f"sqlite+aiosqlite:///{directory / 'store.db'}"
    await upgrade(url)
    settings = Settings(data_dir=directory, store_url=url)
    async with open_resources(settings) as resources:
        await load_sample_registry_if_empty(resources.sessions)
    return url


@asynccontextmanager
async def running_worker(env: WorkflowEnvironment, store_url: str, task_queue: str) -> AsyncIterator[Resources]:
    """The production worker (every workflow and activity) on `task_queue`, until the block ends."""
    settings = Settings(store_url=store_url, task_queue=task_queue)
    async with open_resources(settings) as resources:
        worker: Worker = build_worker(env.client, resources, task_queue)
        async with worker:
            yield resources


async def add_case_matter(sessions: async_sessionmaker[AsyncSession], directory: Path, lead: str = HOUSING) -> str:
    """A case matter of the caller's own, led by `lead`: its code tells the caller's cases from everyone else's."""
    code = f"T-{uuid.uuid4().hex[:12]}"
    file = directory / f"{code}.yaml"
    file.write_text(
        "matters:\n"
        f"  - code: {code}\n"
        "    name: 項目尾水管線施工協調(測試)\n"
        "    kind: case\n"
        "    trigger: issue_raised\n"
        f"    lead: {lead}\n"
        f"    coordinator: {BUSINESS_OFFICE}\n"
        f"    supervisors: [{SUPERVISION_OFFICE}]\n"
        "    card_profile: default\n"
        "    statutory_limit: 20 working-days\n",
        encoding="utf-8",
    )
    await import_registry(sessions, [file])
    return code


async def run_cli(*argv: str) -> int:
    """`caseloop ARGV` in-process; the CLI runs its own event loop, so it gets a thread of its own and the worker
    stays on the test's loop."""
    return await asyncio.to_thread(main, list(argv))


async def eventually(read: Callable[[], Awaitable[T]], expected: Callable[[T], bool], attempts: int = 100) -> T:
    """Reads until `expected` holds: visibility is eventually consistent. Bounded, and not a timing assertion."""
    value = await read()
    for _ in range(attempts):
        if expected(value):
            return value
        await asyncio.sleep(0.1)
        value = await read()
    return value
