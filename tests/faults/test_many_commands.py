"""Hundreds of comments on one case from several senders at once, on the dev server with the production worker:
the case continues as new when the server asks, applies each command once, answers a resend of an early command id
with its remembered result, and carries a state that stays within its bound from run to run.

The issue asks for 5,000 commands: `CASELOOP_FAULT_COMMANDS=5000` runs that many. `make test` runs COMMANDS, about
half a minute here (20 commands a second on a quiet 2-core machine): enough for the server to ask for a
continue-as-new (it asks at about 370) and for the continued run to answer early ids again. The test prints its
wall time; it asserts no speed (bench/ does).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.store.migrate import upgrade
from caseloop.direct import CaseClient
from schemas.case import commands as c
from schemas.case.state import CasePolicy
from services.registry.importer import import_registry
from tests.case.conftest import REGISTRY
from tests.case.driver import supervisor
from tests.case.parties import registration
from tests.faults.world import Traffic, assert_exactly_once, audit_trail, comment_id, comment_text, until
from workers.resources import Resources, open_resources
from workers.settings import Settings
from workers.worker import build_worker

COMMANDS = 600
SENT = max(500, int(os.environ.get("CASELOOP_FAULT_COMMANDS", COMMANDS)))  # 500: the server asks at about 370
SENDERS = 8  # concurrent senders, each sending its next command once the last one is answered
RESENT = 50  # early command ids sent again after the case has continued as new
# Room for 5,000 comments; every other number is the default a case runs on.
POLICY = CasePolicy(max_comments=10_000)
# Events a run may add after the server asked it to continue as new: the commands in flight finish first (the server
# takes at most ten updates in flight on a workflow, about a dozen events each). A run that waits longer grows
# towards the server's limits: 2,000 updates a run, after which every command fails, and 51,200 events.
AFTER_ASKED = 500

pytestmark = [pytest.mark.fault, pytest.mark.timeout(120 + SENT // 4)]


@dataclass
class Rig:
    engine: CaseClient
    resources: Resources
    temporal: Client


@pytest.fixture
async def rig(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Rig]:
    """The production worker on a task queue of its own and a SQLite store holding the case tests' registry."""
    queue = f"faults-{uuid.uuid4()}"
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    await upgrade(url)
    settings = Settings(_env_file=None, data_dir=tmp_path, store_url=url, task_queue=queue)  # type: ignore[call-arg]
    async with open_resources(settings) as resources:
        await import_registry(resources.sessions, [REGISTRY])
        async with build_worker(dev_env.client, resources, queue):
            yield Rig(CaseClient(dev_env.client, settings), resources, dev_env.client)


async def test_thousands_of_commands_on_one_case_each_apply_once_across_continue_as_new(rig: Rig) -> None:
    traffic = Traffic(rig.engine, within=30, deadline=120)
    case_id = await traffic.launch(registration(case_number=new_case_number(), policy=POLICY))
    case = rig.engine.case_by_id(case_id)
    await until(case.state, lambda view: view.seq >= 1, within=30, what=f"{case_id} registered")
    waiting = [comment_id() for _ in range(SENT)]
    waiting.reverse()  # senders pop from the end: the ids go out in the order they were made

    async def sender() -> None:
        while waiting:
            command_id = waiting.pop()
            await traffic.send(case_id, c.CommentOnCase(actor=supervisor, text=comment_text(command_id)), command_id)

    began = time.monotonic()
    await asyncio.gather(*(sender() for _ in range(SENDERS)))
    took = time.monotonic() - began
    print(f"\n{SENT} commands on one case from {SENDERS} senders: {took:.1f} s, {SENT / took:.1f} a second")

    view = await until(case.state, lambda view: view.runs >= 2, within=60, what=f"{case_id} continued as new")
    acknowledged = traffic.acknowledged[case_id]
    assert len(acknowledged) == SENT
    assert len({result.seq for result in acknowledged.values()}) == SENT, "each answered at a seq of its own"
    view = await assert_exactly_once(case, rig.resources.sessions, acknowledged)
    trail = await audit_trail(rig.resources.sessions, case_id)
    assert [entry.action for entry in trail].count("commented") == SENT
    assert view.seq == len(trail)

    runs = await runs_of_case(rig.temporal, case_id, view.runs)
    print(f"runs (events, event at which the server asked to continue as new, input bytes): {runs}")
    for events, asked, _ in runs[:-1]:
        assert asked is not None and events <= asked + AFTER_ASKED, f"{events} events, asked at {asked}"
    assert all(size <= POLICY.state_bytes for _, _, size in runs[1:]), "every continued run's state within its bound"

    # Early ids, answered by a run before this one and still among the ids the case remembers, sent again.
    current = await rig.temporal.get_workflow_handle(case_id).describe()
    assert current.start_time is not None
    remembered = sorted(acknowledged.values(), key=lambda result: result.seq)[-POLICY.applied_commands_kept :]
    early = [result for result in remembered if result.applied_at < current.start_time][:RESENT]
    assert len(early) == RESENT, "a continued run remembers ids its earlier run answered"
    gate = asyncio.Semaphore(SENDERS)  # the server takes at most ten updates in flight on one workflow

    async def resend(result: c.CommandResult) -> c.CommandResult:
        async with gate:
            command = c.CommentOnCase(actor=supervisor, text=comment_text(result.update_id))
            return await case.send(command, command_id=result.update_id)

    again = await asyncio.gather(*(resend(result) for result in early))
    assert again == early, "a resend answers the remembered result"
    assert (await case.state()).seq == view.seq, "and applies nothing"
    assert len(await audit_trail(rig.resources.sessions, case_id)) == len(trail)


def new_case_number() -> str:
    return f"many-{uuid.uuid4().hex[:10]}"


async def runs_of_case(temporal: Client, case_id: str, runs: int) -> list[tuple[int, int | None, int]]:
    """Each run of the case, oldest first: its history's length in events, the event at which the server first
    suggested a continue-as-new (None: it did not), and the bytes of its start input (the state a continue-as-new
    carried over)."""
    listed = await until(
        lambda: _listed_runs(temporal, case_id),
        lambda found: len(found) >= runs,
        within=30,
        what=f"{runs} runs of {case_id} visible",
    )
    measured = []
    for run_id in listed:
        events, asked, size = 0, None, 0
        async for event in temporal.get_workflow_handle(case_id, run_id=run_id).fetch_history_events():
            events += 1
            if event.HasField("workflow_execution_started_event_attributes"):
                size = sum(len(p.data) for p in event.workflow_execution_started_event_attributes.input.payloads)
            task = event.workflow_task_started_event_attributes
            if (
                asked is None
                and event.HasField("workflow_task_started_event_attributes")
                and task.suggest_continue_as_new
            ):
                asked = event.event_id
        measured.append((events, asked, size))
    return measured


async def _listed_runs(temporal: Client, case_id: str) -> list[str]:
    found = [(run.start_time, run.run_id) async for run in temporal.list_workflows(f"WorkflowId = '{case_id}'")]
    return [run_id for _, run_id in sorted(found)]
