"""On the dev server's visibility, a case is found by `CaseloopParties` for every department party to it, and
never for an outsider: the clause the front door scopes a department's lists and counts with."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.store.migrate import upgrade
from caseloop.direct.case_start import start_case
from schemas import search_attributes as sa
from schemas.case import commands as c
from schemas.case.stages import Role
from services.registry.importer import import_registry
from tests.case.conftest import REGISTRY
from tests.case.parties import COORDINATOR, LEAD, LOCALITY, OTHER, SUPERVISOR, SYSTEM_CODE, registration
from workers.resources import Resources, open_resources
from workers.settings import Settings
from workers.worker import build_worker
from workflows.case.workflow import CaseWorkflow


@pytest.fixture
async def dev_worker(dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str) -> AsyncIterator[Resources]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    await upgrade(url)
    async with open_resources(Settings(data_dir=tmp_path, store_url=url, task_queue=task_queue)) as resources:
        await import_registry(resources.sessions, [REGISTRY])
        async with build_worker(dev_env.client, resources, task_queue):
            yield resources


async def found_by(client: Client, workflow_id: str, department: str) -> int:
    """Counts the workflow under the party clause, until visibility has caught up with the last upsert."""
    query = f"WorkflowId = '{workflow_id}' AND {sa.PARTIES.name} = '{department}'"
    return (await client.count_workflows(query)).count


async def settled(client: Client, workflow_id: str, department: str, expected: int) -> int:
    count = await found_by(client, workflow_id, department)
    for _ in range(100):
        if count == expected:
            break
        await asyncio.sleep(0.1)
        count = await found_by(client, workflow_id, department)
    return count


async def test_a_case_is_found_by_each_party_and_not_by_an_outsider(
    dev_env: WorkflowEnvironment, dev_worker: Resources, task_queue: str
) -> None:
    client = dev_env.client
    handle = await start_case(client, registration(case_number=f"vis-{uuid.uuid4().hex[:10]}"), task_queue=task_queue)
    try:
        # From its start, before the registry is asked, the registration's own parties find it.
        assert await settled(client, handle.id, COORDINATOR, 1) == 1
        await handle.execute_update(
            CaseWorkflow.accept, c.AcceptCase(actor=c.Actor(department=COORDINATOR, role=Role.COORDINATOR))
        )
        await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=c.Actor(department=LEAD, role=Role.LEAD)))
        for party in (SYSTEM_CODE, COORDINATOR, SUPERVISOR, LEAD, LOCALITY):
            assert await settled(client, handle.id, party, 1) == 1, party
        assert await found_by(client, handle.id, OTHER) == 0
        description = await handle.describe()
        assert description.typed_search_attributes.get(sa.PARTIES) == [
            SYSTEM_CODE,
            COORDINATOR,
            SUPERVISOR,
            LEAD,
            LOCALITY,
        ]
        # A reroute makes the new department a party; the one it left stays one (it acted on the case).
        reroute = c.RerouteAssignment(
            actor=c.Actor(department=COORDINATOR, role=Role.COORDINATOR),
            department=LOCALITY,
            to_department=OTHER,
            reason="the problem lies in another district",
        )
        await handle.execute_update(CaseWorkflow.reroute, reroute)
        assert await settled(client, handle.id, OTHER, 1) == 1
        assert await found_by(client, handle.id, LOCALITY) == 1
    finally:
        await handle.terminate("the test is over")
    # The patched branch replays too: the marker stands before the first upsert of the parties.
    replayer = Replayer(workflows=[CaseWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(await handle.fetch_history())
