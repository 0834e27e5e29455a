"""The baseline: a bare Temporal workflow with caseloop's shape and none of its domain logic.

One start runs one activity; each update runs one activity and may start and cancel timers (a case's clocks); an
armed timer waits for a far instant (open cases) or wakes at a chosen instant and records the wake-up in a SQLite
file (the 17:30 burst); a hand-off start posts to the department endpoint, like a push. Run as
`python -m bench.bare TARGET TASK_QUEUE WAKE_DB` (its own process, as the caseloop worker is).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import activity, workflow

# The sandbox would run these modules again for every workflow instance; caseloop's workflows pass theirs through too.
with workflow.unsafe.imports_passed_through():
    import sqlite3
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

    from workers.settings import Settings

ACTIVITY_TIMEOUT = timedelta(seconds=30)
CLOCK_HOLD = timedelta(days=30)  # an armed clock's timer: far enough that none fires while the benchmark runs


class BareStart(BaseModel):
    updates: int = 0
    wake_at: datetime | None = None  # the burst: one timer to this instant, then one recorded activity
    hold_seconds: float | None = None  # open cases: a timer armed this far ahead
    push_url: str | None = None  # the hand-off: one activity posting here, as a push


class BareStep(BaseModel):
    name: str
    arm: int = 0  # timers this update starts, as a caseloop command starts the clocks of the next step
    stop: int = 0  # timers it cancels, the oldest first, as a command stops the clocks of the step it ends


class BareAnswer(BaseModel):
    count: int


class BareWake(BaseModel):
    workflow_id: str
    due_at: datetime


class BarePush(BaseModel):
    url: str
    subject_id: str


class BareActivities:
    def __init__(self, wake_db: str, http: httpx.AsyncClient) -> None:
        self._wake_db = wake_db
        self._http = http

    @activity.defn(name="bare_touch")
    async def touch(self, step: BareStep) -> BareAnswer:
        return BareAnswer(count=len(step.name))

    @activity.defn(name="bare_record_wake")
    def record_wake(self, wake: BareWake) -> BareAnswer:
        # A synchronous activity in the worker's thread pool, as caseloop's store write is a write of one row.
        with sqlite3.connect(self._wake_db, timeout=30) as db:
            db.execute(
                "INSERT OR IGNORE INTO wakes (workflow_id, due_at, recorded_at) VALUES (?, ?, ?)",
                (wake.workflow_id, wake.due_at.timestamp(), time.time()),
            )
        return BareAnswer(count=1)

    @activity.defn(name="bare_push")
    async def push(self, push: BarePush) -> BareAnswer:
        reply = await self._http.post(push.url, json={"kind": "bare_push", "subject_id": push.subject_id})
        reply.raise_for_status()
        return BareAnswer(count=1)


@workflow.defn(name="BareCase")
class BareCase:
    def __init__(self) -> None:
        self._applied = 0
        self._clocks: list[asyncio.Future[None]] = []

    @workflow.run
    async def run(self, start: BareStart) -> BareAnswer:
        info = workflow.info()
        if start.push_url is not None:
            await workflow.execute_activity(
                "bare_push",
                BarePush(url=start.push_url, subject_id=info.workflow_id),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                result_type=BareAnswer,
            )
        else:
            await workflow.execute_activity(
                "bare_touch", BareStep(name="start"), start_to_close_timeout=ACTIVITY_TIMEOUT, result_type=BareAnswer
            )
        if start.wake_at is not None:
            await workflow.sleep(max(timedelta(0), start.wake_at - workflow.now()))
            await workflow.execute_activity(
                "bare_record_wake",
                BareWake(workflow_id=info.workflow_id, due_at=start.wake_at),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                result_type=BareAnswer,
            )
        if start.hold_seconds is not None:
            await workflow.sleep(timedelta(seconds=start.hold_seconds))
        await workflow.wait_condition(lambda: self._applied >= start.updates and workflow.all_handlers_finished())
        return BareAnswer(count=self._applied)

    @workflow.update
    async def step(self, step: BareStep) -> BareAnswer:
        await workflow.execute_activity(
            "bare_touch", step, start_to_close_timeout=ACTIVITY_TIMEOUT, result_type=BareAnswer
        )
        for _ in range(min(step.stop, len(self._clocks))):
            self._clocks.pop(0).cancel()
        self._clocks += [asyncio.ensure_future(workflow.sleep(CLOCK_HOLD)) for _ in range(step.arm)]
        self._applied += 1
        return BareAnswer(count=self._applied)


def prepare_wake_db(path: str) -> None:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=wal")
        db.execute("CREATE TABLE IF NOT EXISTS wakes (workflow_id TEXT PRIMARY KEY, due_at REAL, recorded_at REAL)")


async def connect(target: str) -> Client:
    return await Client.connect(target, data_converter=pydantic_data_converter)


async def serve(target: str, task_queue: str, wake_db: str) -> None:
    prepare_wake_db(wake_db)
    client = await connect(target)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    async with httpx.AsyncClient(timeout=10) as http:
        await _run_worker(client, task_queue, BareActivities(wake_db, http), stop)


def runner() -> WorkflowRunner:
    """The SDK's sandbox where caseloop's worker runs one (`CASELOOP_WORKFLOW_SANDBOX`, off by default), else none."""
    sandboxed = Settings(_env_file=None).workflow_sandbox  # type: ignore[call-arg]
    return SandboxedWorkflowRunner() if sandboxed else UnsandboxedWorkflowRunner()


async def _run_worker(client: Client, task_queue: str, activities: BareActivities, stop: asyncio.Event) -> None:
    with ThreadPoolExecutor(max_workers=20) as pool:
        worker = Worker(
            client,
            task_queue=task_queue,
            workflows=[BareCase],
            activities=[activities.touch, activities.record_wake, activities.push],
            activity_executor=pool,
            # The same poller count and runner as caseloop's worker, so that only the domain logic differs.
            max_concurrent_workflow_task_polls=10,
            workflow_runner=runner(),
        )
        async with worker:
            print("bare worker running", flush=True)
            await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2], sys.argv[3]))
