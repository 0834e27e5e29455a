"""Records the histories the replay test replays: `python -m tests.case.record_histories [scenario ...]`.

Each scenario of tests/case/scenarios.py runs on a fresh time-skipping server against a fresh SQLite store, and
its history is written to tests/case/histories/<SHAPE>/<scenario>.json. Record again only when a workflow change is
meant to break replay of running cases (and then ship it behind `workflow.patched`); say so in the commit.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.store.migrate import upgrade
from schemas import search_attributes
from services.registry.importer import import_registry
from tests.case.driver import Driver
from tests.case.scenarios import SCENARIOS
from tests.support.histories import without_machine_paths
from workers.binaries import temporal_test_server
from workers.resources import open_resources
from workers.settings import Settings
from workers.worker import build_worker

HISTORIES = Path(__file__).with_name("histories")
# The shape of today's workflow code: its histories go to histories/<SHAPE>/, beside those of earlier shapes.
SHAPE = "lean"
REGISTRY = Path(__file__).with_name("registry.yaml")


async def record(names: list[str]) -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=str(temporal_test_server())
    )
    try:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={
                    key.name: IndexedValueType.ValueType(key.indexed_value_type.value) for key in search_attributes.ALL
                },
            )
        )
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite+aiosqlite:///{Path(directory) / 'store.db'}"
            await upgrade(url)
            async with open_resources(Settings(data_dir=Path(directory), store_url=url)) as resources:
                await import_registry(resources.sessions, [REGISTRY])
                for name in names:
                    task_queue = f"tq-{uuid.uuid4()}"
                    async with build_worker(env.client, resources, task_queue):
                        handle = await SCENARIOS[name](Driver(env, task_queue, resources.sessions))
                        history = await handle.fetch_history()
                    path = HISTORIES / SHAPE / f"{name}.json"
                    path.write_text(without_machine_paths(history.to_json()), encoding="utf-8")
                    print(f"{path}: {len(history.events)} events")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    unknown = [name for name in sys.argv[1:] if name not in SCENARIOS]
    if unknown:
        sys.exit(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    (HISTORIES / SHAPE).mkdir(parents=True, exist_ok=True)
    asyncio.run(record(sys.argv[1:] or list(SCENARIOS)))
