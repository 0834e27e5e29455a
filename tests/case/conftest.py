"""Case workflow fixtures: the time-skipping server with the search attributes, a registry, a worker per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.registry.importer import import_registry
from schemas import search_attributes
from tests.case.driver import Driver
from workers.resources import Resources
from workers.worker import build_worker

REGISTRY = Path(__file__).with_name("registry.yaml")


@pytest.fixture(scope="session")
async def case_env(ts_env: WorkflowEnvironment) -> WorkflowEnvironment:
    """The time-skipping server knows no custom search attribute until told."""
    try:
        await ts_env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=ts_env.client.namespace,
                search_attributes={
                    key.name: IndexedValueType.ValueType(key.indexed_value_type.value) for key in search_attributes.ALL
                },
            )
        )
    except RPCError as error:
        if "already" not in error.message.lower():
            raise
    return ts_env


@pytest.fixture
async def case_worker(case_env: WorkflowEnvironment, resources: Resources, task_queue: str) -> AsyncIterator[Worker]:
    """The production worker (every workflow and activity) on a fresh store holding the test registry."""
    await import_registry(resources.sessions, [REGISTRY])
    async with build_worker(case_env.client, resources, task_queue) as worker:
        yield worker


@pytest.fixture
async def driver(case_env: WorkflowEnvironment, resources: Resources, task_queue: str) -> AsyncIterator[Driver]:
    driver = Driver(case_env, task_queue, resources.sessions)
    yield driver
    await driver.stop_all()
