"""Scenario 5, the hand-off burst: a nightly batch of approval results (public-place health licences granted) in one
call through the door; the time until every push has reached the health commission's endpoint (served here), and
until simulated claimants have closed every loop (act, feedback, the approval bureau's acknowledgement). Beside it:
as many bare workflows started at once, each posting once to the same endpoint and taking three updates.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import uvicorn

from bench.bare import BareCase, BareStart, BareStep
from bench.departments import Timings, case_number
from bench.harness import Bench, bounded
from bench.stack import APPROVAL_BUREAU, HEALTH_COMMISSION
from caseloop import InputRejected
from schemas.handoff import SourceEvent
from schemas.registry import TriggerEvent

SCENARIO = "5 hand-off burst"
CLAIMANTS = 20  # loops a department works on at once
RETRIES = 50  # a push may arrive a moment before its claim is recorded: the claimant tries again, bounded


class Receiver:
    """The department endpoint: an ASGI app that notes when each push arrived and hands it to a claimant."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.on_push: Callable[[str], None] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        with contextlib.suppress(ValueError):
            push = json.loads(body)
            if push.get("kind") in ("handoff_push", "bare_push"):
                subject = push["subject_id"]
                if subject not in self.arrived:
                    self.arrived[subject] = time.perf_counter()
                    if self.on_push is not None:
                        self.on_push(subject)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@contextlib.asynccontextmanager
async def receiving(port: int) -> AsyncIterator[Receiver]:
    receiver = Receiver()
    server = uvicorn.Server(
        uvicorn.Config(receiver, host="127.0.0.1", port=port, lifespan="off", log_level="warning", access_log=False)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task


def licence_granted(reference: str) -> SourceEvent:
    return SourceEvent(
        source_department=APPROVAL_BUREAU,
        reference=reference,
        event=TriggerEvent.CASE_CLOSED,
        item_code="SP-GGCSWS",
        occurred_at=datetime.now(UTC),
        decision="grant",
        package={"licence_no": "SW-2026-0001", "entity": "示例浴室有限公司", "pledge": True},
    )


async def _retrying(call: Callable[[], Awaitable[object]]) -> None:
    for _ in range(RETRIES):
        try:
            await call()
            return
        except InputRejected:
            await asyncio.sleep(0.2)
    await call()


class Claimants:
    """Works each pushed loop to its end as it arrives, at most CLAIMANTS at once; notes when each loop closed."""

    def __init__(self, close_loop: Callable[[str], Awaitable[object]]) -> None:
        self._close_loop = close_loop
        self._gate = asyncio.Semaphore(CLAIMANTS)
        self.closed: dict[str, float] = {}
        self.errors: list[BaseException] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self._settled = asyncio.Event()
        self._expected: int | None = None

    def take(self, subject: str) -> None:
        task = asyncio.create_task(self._work(subject))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _work(self, subject: str) -> None:
        async with self._gate:
            try:
                await self._close_loop(subject)
                self.closed[subject] = time.perf_counter()
            except Exception as error:
                self.errors.append(error)
            self._check()

    def _check(self) -> None:
        if self._expected is not None and len(self.closed) + len(self.errors) >= self._expected:
            self._settled.set()

    async def wait(self, expected: int, seconds: float) -> None:
        """Until `expected` loops are closed or failed, or `seconds` have passed; then the rest are cancelled."""
        self._expected = expected
        self._check()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._settled.wait(), seconds)
        for task in list(self.tasks):
            task.cancel()


async def _caseloop(bench: Bench, receiver: Receiver, count: int) -> tuple[float, float, int]:
    health = bench.departments.clients[HEALTH_COMMISSION]
    approval = bench.departments.clients[APPROVAL_BUREAU]

    resending = bench.departments.resending

    async def close_loop(handoff_id: str) -> None:
        loop = health.handoff(handoff_id, actor="receiver")
        measure = "on-site inspection of the hygiene pledge"
        await _retrying(lambda: resending(lambda key: loop.start_acting(measure=measure, command_id=key)))
        await resending(lambda key: loop.send_feedback(result="pledge verified on site", command_id=key))
        acknowledged = approval.handoff(handoff_id)
        await resending(lambda key: acknowledged.acknowledge(actor="originator", remark="noted", command_id=key))

    claimants = Claimants(close_loop)
    receiver.arrived.clear()
    receiver.on_push = claimants.take
    events = [licence_granted(f"SQ-SP-{uuid.uuid4().hex[:12]}") for _ in range(count)]
    began = time.perf_counter()
    report = await approval.report_events(events, batch_id=f"nightly-{uuid.uuid4().hex[:12]}", within=600)
    started = [item for item in report.reports if item.outcome.value == "started"]
    expected = sum(len(item.handoffs) for item in started)
    await claimants.wait(expected, bench.plan.scenario_seconds)
    receiver.on_push = None
    if claimants.errors:  # measured without them, and said
        bench.facts.setdefault("handoff_notes", []).append(
            f"caseloop: {len(claimants.errors)} loops failed: {claimants.errors[0]!r}"
        )
    delivered = max(receiver.arrived.values(), default=began) - began
    closed = max(claimants.closed.values(), default=began) - began
    return delivered, closed, expected - len(claimants.closed)


async def _baseline(bench: Bench, receiver: Receiver, count: int) -> tuple[float, float, int]:
    async def close_loop(workflow_id: str) -> None:
        handle = bench.temporal.get_workflow_handle_for(BareCase.run, workflow_id)
        for step in ("act", "feedback", "acknowledge"):
            await handle.execute_update(BareCase.step, BareStep(name=step))

    claimants = Claimants(close_loop)
    receiver.arrived.clear()
    receiver.on_push = claimants.take
    url = f"http://127.0.0.1:{bench.stack.push_port}/push"
    timings = Timings()
    prefix = case_number("bare-handoff")

    def start(index: int) -> Callable[[], Awaitable[object]]:
        return lambda: bench.bare.start(f"{prefix}-{index}", timings, BareStart(updates=3, push_url=url))

    began = time.perf_counter()
    _, errors, _ = await bounded([start(index) for index in range(count)], 50, bench.plan.scenario_seconds)
    await claimants.wait(count - len(errors), bench.plan.scenario_seconds)
    receiver.on_push = None
    delivered = max(receiver.arrived.values(), default=began) - began
    closed = max(claimants.closed.values(), default=began) - began
    return delivered, closed, count - len(claimants.closed)


async def run(bench: Bench) -> None:
    plan = bench.plan
    async with receiving(bench.stack.push_port) as receiver:
        for repetition in bench.repetitions(SCENARIO):
            for side in bench.sides(repetition):
                runner = _caseloop if side == "caseloop" else _baseline
                delivered, closed, missing = await runner(bench, receiver, plan.handoff_events)
                if missing:
                    bench.facts.setdefault("handoff_notes", []).append(f"{side}: {missing} loops not closed in time")
                bench.figures.record(SCENARIO, "every push delivered", "s", side=side, value=delivered)
                bench.figures.record(SCENARIO, "every loop closed", "s", side=side, value=closed)
                bench.figures.record(
                    SCENARIO,
                    "loops closed per second",
                    "loops/s",
                    higher_is_better=True,
                    side=side,
                    value=plan.handoff_events / max(closed, 1e-3),
                )
    bench.facts["handoff_note"] = f"{plan.handoff_events} approval results in one batch call per side and repetition"
