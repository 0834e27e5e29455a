"""PostgreSQL down while commands arrive: no command fails. The legal clock and the registry are asked until the
store is back, a caller that gave up resends the same command id and gets the real outcome, and the audit trail
holds every transition once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.testing import WorkflowEnvironment

from activities.store.migrate import upgrade
from schemas.case import commands as c
from schemas.case.stages import CaseStage, Role
from services.registry.importer import import_registry
from tests.case.conftest import REGISTRY
from tests.case.driver import CaseHandle, Driver, coordinator, supervisor
from tests.case.parties import LEAD, OTHER
from tests.case.scenarios import terminate
from tests.support import postgres
from tests.support.postgres_outage import StoppablePostgres, stoppable_postgres
from workers.resources import open_resources
from workers.settings import Settings
from workers.worker import build_worker
from workflows.case.workflow import CaseWorkflow

GIVE_UP = 2  # seconds a caller waits before it gives up on an answer
LOCAL_ACTIVITY_MARKER = "core_local_activity"  # how the SDK records a local activity's outcome in the history


@pytest.fixture
async def outage_rig(
    ts_env: WorkflowEnvironment, task_queue: str, tmp_path: Path
) -> AsyncIterator[tuple[Driver, StoppablePostgres]]:
    with stoppable_postgres() as server:
        _, url = await postgres.create_database(server.admin_url)
        await upgrade(url)
        async with open_resources(Settings(data_dir=tmp_path, store_url=url)) as resources:
            await import_registry(resources.sessions, [REGISTRY])
            async with build_worker(ts_env.client, resources, task_queue):
                driver = Driver(ts_env, task_queue, resources.sessions)
                try:
                    yield driver, server
                finally:
                    await driver.stop_all()


async def given_up(handle: CaseHandle, update: Any, command: c.CaseCommand, command_id: str) -> None:
    """A caller that sends a command and stops waiting for its answer."""
    with pytest.raises((TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError)):
        await asyncio.wait_for(handle.execute_update(update, command, id=command_id), GIVE_UP)


async def attempts_of(handle: CaseHandle, activity: str) -> int:
    """The attempts of `activity` still retrying (a pending activity), or of the local activity that went through
    (its marker in the history names the attempt that succeeded)."""
    described = await handle.describe()
    pending = described.raw_description.pending_activities
    attempts = [each.attempt for each in pending if each.activity_type.name == activity]
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == LOCAL_ACTIVITY_MARKER:
                data = json.loads(marker.details["data"].payloads[0].data)
                if data["activity_type"] == activity:
                    attempts.append(data["attempt"])
    return max(attempts, default=0)


@asynccontextmanager
async def store_down(
    driver: Driver, server: StoppablePostgres, handle: CaseHandle, down: timedelta, activity: str, *, more_than: int
) -> AsyncIterator[None]:
    """The store stopped while the block sends its commands, then `down` of workflow time, in which `activity` is
    attempted more than `more_than` times; then started again, and the next attempt (a backoff away) finds it."""
    server.stop()
    yield
    await driver.env.sleep(down)
    retrying = await attempts_of(handle, activity)
    server.start()
    await driver.settle()
    after = await attempts_of(handle, activity)
    assert max(retrying, after) > more_than


async def test_a_store_outage_never_fails_a_command(outage_rig: tuple[Driver, StoppablePostgres]) -> None:
    driver, server = outage_rig
    handle = await driver.start()
    for _ in range(100):  # registered and recorded: the registry was read, and the store written, before it goes down
        if (await driver.view(handle)).seq > 0 and await driver.audit(handle.id):
            break
        await asyncio.sleep(0.1)

    # The accept needs the legal clock, which reads its calendar from the store; the comment only a store write.
    # The clock is asked more often than its old five attempts, which failed the command for good.
    async with store_down(driver, server, handle, timedelta(minutes=2), "case_plan_clocks", more_than=5):
        await given_up(handle, CaseWorkflow.accept, c.AcceptCase(actor=coordinator), "cmd-accept")
        await given_up(handle, CaseWorkflow.comment, c.CommentOnCase(actor=supervisor, text="any news?"), "cmd-comment")
    accepted = await handle.execute_update(CaseWorkflow.accept, c.AcceptCase(actor=coordinator), id="cmd-accept")
    commented = await handle.execute_update(
        CaseWorkflow.comment, c.CommentOnCase(actor=supervisor, text="any news?"), id="cmd-comment"
    )
    assert accepted.stage is CaseStage.LAUNCHED and commented.seq > accepted.seq

    # A reroute asks the registry for the new department: longer down than the store policy's twenty attempts.
    reroute = c.RerouteAssignment(actor=coordinator, department=LEAD, to_department=OTHER, reason="water review")
    async with store_down(driver, server, handle, timedelta(minutes=20), "registry_get_department", more_than=20):
        await given_up(handle, CaseWorkflow.reroute, reroute, "cmd-reroute")
    rerouted = await handle.execute_update(CaseWorkflow.reroute, reroute, id="cmd-reroute")
    assert rerouted.seq > commented.seq

    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=c.Actor(department=OTHER, role=Role.LEAD)))
    await terminate(handle)  # completes once the store holds every write
    view = await driver.view(handle)
    trail = await driver.audit(handle.id)
    assert [entry.seq for entry in trail] == list(range(1, view.seq + 1))
    actions = [entry.action for entry in trail]
    for action in ("accepted", "commented", "rerouted", "signed", "terminated"):
        assert actions.count(action) == 1, action
