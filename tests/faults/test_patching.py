"""A workflow change that adds a step: without `workflow.patched` a recorded history no longer replays, with it the
history replays, a case started before the change finishes on its old path and a new case takes the new step."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker
from temporalio.workflow import NondeterminismError

from tests.faults.world import until

pytestmark = [pytest.mark.fault, pytest.mark.timeout(60)]

WORKFLOW = "FaultPatchedCase"
PATCH = "fault-case-notifies-the-locality"
ACTIVITY_TIMEOUT = timedelta(seconds=10)


@activity.defn
async def notify_lead(case: str) -> str:
    return f"lead told of {case}"


@activity.defn
async def notify_locality(case: str) -> str:
    return f"locality told of {case}"


class _Case:
    """What every version shares: the steps it took, and a close that the coordinator signals."""

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.closed = False

    @workflow.signal
    def close(self) -> None:
        self.closed = True

    @workflow.query
    def taken(self) -> list[str]:
        return self.steps


@workflow.defn(name=WORKFLOW, sandboxed=False)
class CaseV1(_Case):
    @workflow.run
    async def run(self, case: str) -> list[str]:
        self.steps.append(await workflow.execute_activity(notify_lead, case, start_to_close_timeout=ACTIVITY_TIMEOUT))
        await workflow.wait_condition(lambda: self.closed)
        return self.steps


@workflow.defn(name=WORKFLOW, sandboxed=False)
class CaseV2Unpatched(_Case):
    """The new step added as it is: every case started before the change emits other commands on replay."""

    @workflow.run
    async def run(self, case: str) -> list[str]:
        self.steps.append(await workflow.execute_activity(notify_lead, case, start_to_close_timeout=ACTIVITY_TIMEOUT))
        self.steps.append(
            await workflow.execute_activity(notify_locality, case, start_to_close_timeout=ACTIVITY_TIMEOUT)
        )
        await workflow.wait_condition(lambda: self.closed)
        return self.steps


@workflow.defn(name=WORKFLOW, sandboxed=False)
class CaseV2(_Case):
    """The new step behind a patch marker: cases started before it keep their old path."""

    @workflow.run
    async def run(self, case: str) -> list[str]:
        self.steps.append(await workflow.execute_activity(notify_lead, case, start_to_close_timeout=ACTIVITY_TIMEOUT))
        if workflow.patched(PATCH):
            self.steps.append(
                await workflow.execute_activity(notify_locality, case, start_to_close_timeout=ACTIVITY_TIMEOUT)
            )
        await workflow.wait_condition(lambda: self.closed)
        return self.steps


async def _replay(history: WorkflowHistory, version: type) -> None:
    await Replayer(workflows=[version]).replay_workflow(history)


async def test_a_new_step_needs_a_patch_and_with_it_old_and_new_cases_finish(dev_env: WorkflowEnvironment) -> None:
    client = dev_env.client
    queue = f"faults-{uuid.uuid4()}"
    old, recorded, new = (f"fault-patch-{name}-{uuid.uuid4().hex[:8]}" for name in ("old", "recorded", "new"))
    activities = [notify_lead, notify_locality]

    async with Worker(client, task_queue=queue, workflows=[CaseV1], activities=activities):
        # A case that finishes on v1, for its whole history, and one left open across the change.
        finished = await client.start_workflow(WORKFLOW, "recorded", id=recorded, task_queue=queue)
        await finished.signal(CaseV1.close)
        assert await finished.result() == ["lead told of recorded"]
        still_open = await client.start_workflow(WORKFLOW, "old", id=old, task_queue=queue)
        await until(
            lambda: still_open.query(CaseV1.taken),
            lambda steps: steps == ["lead told of old"],
            within=30,
            what="the open case took its first step",
        )
    history = await finished.fetch_history()
    open_history = await still_open.fetch_history()

    with pytest.raises(NondeterminismError):
        await _replay(history, CaseV2Unpatched)
    await _replay(history, CaseV2)
    await _replay(open_history, CaseV2)

    async with Worker(client, task_queue=queue, workflows=[CaseV2], activities=activities):
        await still_open.signal(CaseV2.close)
        assert await still_open.result() == ["lead told of old"], "the old case kept its path"
        started = await client.start_workflow(WORKFLOW, "new", id=new, task_queue=queue)
        await started.signal(CaseV2.close)
        assert await started.result() == ["lead told of new", "locality told of new"], "a new case takes the step"
    for handle in (still_open, started):
        await _replay(await handle.fetch_history(), CaseV2)
    with pytest.raises(NondeterminismError):
        await _replay(await started.fetch_history(), CaseV1)
