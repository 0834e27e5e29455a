"""On the dev server's visibility, a hand-off is found by `CaseloopParties` for the reporting department, every
receiver it was routed to (earlier ones too) and the registry's coordinator, and never for an outsider."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from schemas import search_attributes as sa
from schemas.handoff import Actor, HandoffStage, Role, Terminate
from tests.gateway.receiver import Receiver
from tests.handoff.conftest import (
    APPROVAL_BUREAU,
    COORDINATOR,
    DISTRICT,
    DISTRICT_REGULATOR,
    HANDOFF_WORKFLOWS,
    HR_BUREAU,
    MARKET_REGULATOR,
    WATER_PERMIT,
    Rig,
    handoff_activities,
)
from tests.handoff.scenario import closed_approval, give_back, reroute
from tests.support.eventually import eventually
from workflows.handoff.entity import HandoffWorkflow


@pytest.fixture
async def dev_rig(
    dev_env: WorkflowEnvironment,
    store: async_sessionmaker[AsyncSession],
    registry: None,
    receiver: Receiver,
    task_queue: str,
) -> AsyncIterator[Rig]:
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(2.0)) as http,
        Worker(
            dev_env.client,
            task_queue=task_queue,
            workflows=HANDOFF_WORKFLOWS,
            activities=handoff_activities(store, http),
        ),
    ):
        yield Rig(dev_env, store, receiver, task_queue)


async def found_by(client: Client, workflow_id: str, department: str) -> int:
    query = f"WorkflowId = '{workflow_id}' AND {sa.PARTIES.name} = '{department}'"
    return (await client.count_workflows(query)).count


async def settled(client: Client, workflow_id: str, department: str, expected: int) -> int:
    """Visibility is eventually consistent: reads until the count is the expected one, a bounded number of times."""
    return await eventually(
        lambda: found_by(client, workflow_id, department),
        lambda count: count == expected,
        what=f"{expected} {workflow_id} found for {department}",
        pause=0.1,
    )


async def test_a_handoff_is_found_by_its_source_receivers_and_coordinator_and_not_by_an_outsider(dev_rig: Rig) -> None:
    rig, client = dev_rig, dev_rig.client
    [started] = (await rig.report(closed_approval(WATER_PERMIT, locality_code=DISTRICT))).handoffs
    handoff = started.handoff_id
    try:
        await rig.until_stage(handoff, HandoffStage.PUSHED)
        for party in (APPROVAL_BUREAU, DISTRICT_REGULATOR, COORDINATOR):
            assert await settled(client, handoff, party, 1) == 1, party
        assert await found_by(client, handoff, MARKET_REGULATOR) == 0

        await rig.handle(handoff).execute_update(HandoffWorkflow.return_push, give_back(DISTRICT_REGULATOR))
        await rig.handle(handoff).execute_update(HandoffWorkflow.reroute, reroute())
        await rig.until_stage(handoff, HandoffStage.PUSHED)
        for party in (APPROVAL_BUREAU, DISTRICT_REGULATOR, MARKET_REGULATOR, COORDINATOR):
            assert await settled(client, handoff, party, 1) == 1, party
        assert await found_by(client, handoff, HR_BUREAU) == 0
        assert await found_by(client, handoff, "caseloop") == 0  # the system is never a party
        description = await rig.handle(handoff).describe()
        assert description.typed_search_attributes.get(sa.PARTIES) == [
            APPROVAL_BUREAU,
            DISTRICT_REGULATOR,
            MARKET_REGULATOR,
            COORDINATOR,
        ]
    finally:
        stop = Terminate(actor=Actor(department=COORDINATOR, role=Role.COORDINATOR), reason="test over")
        await rig.handle(handoff).execute_update(HandoffWorkflow.terminate, stop)
        await rig.handle(handoff).result()
    # The patched branch replays too: the marker stands before the first upsert of the parties.
    replayer = Replayer(workflows=[HandoffWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(await rig.handle(handoff).fetch_history())
