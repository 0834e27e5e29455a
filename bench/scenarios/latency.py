"""Scenario 2, command latency: sign (lead, then locality) and commit at half of the capacity scenario 1 measured,
arriving at a steady pace whether or not earlier commands have answered (open loop), sent through the door (SDK),
straight to the engine (`caseloop.direct`, what the door runs on), and as bare updates; p50/p95/p99 of each.

What the door adds is read from signs sent through the door and straight to the engine in turn, in one stream: at
the same pace, then one at a time (without the wait for a CPU that one more process on the path meets under load).
Each pair of neighbours meets the machine's load alike; the same medians taken in phases seconds apart differed by
as much as the load moved between them (bench/README.md)."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from temporalio.client import WorkflowHandle

from bench.bare import BareAnswer, BareCase, BareStart, BareStep
from bench.departments import UP_TO_IN_PROGRESS, Timings, case_number
from bench.harness import Bench, bounded
from bench.stack import CASE_MATTER, LEAD, LOCALITY
from bench.stats import percentile
from schemas.case import commands as c

SCENARIO = "2 command latency"
MEASURED = ("sign_lead", "sign_locality", "commit")
FALLBACK_RATE = 10.0  # commands/s, when scenario 1 did not run
ONE_AT_A_TIME_CASES = 12  # cases whose two signs are sent one at a time, per variant and repetition
PLAN_TEXT = "re-route the pipeline along the canal road"


async def _paced(calls: list[Callable[[], Awaitable[object]]], rate: float, seconds: float) -> list[float]:
    """Starts call i at i/rate seconds, whatever the earlier ones are doing; returns each one's latency, in the
    calls' order."""
    latencies = [0.0] * len(calls)
    began = time.perf_counter()

    async def one(index: int, call: Callable[[], Awaitable[object]]) -> None:
        await asyncio.sleep(max(0.0, began + index / rate - time.perf_counter()))
        started = time.perf_counter()
        await call()
        latencies[index] = time.perf_counter() - started

    await asyncio.wait_for(asyncio.gather(*(one(i, call) for i, call in enumerate(calls))), seconds)
    return latencies


async def _accepted_cases(bench: Bench, count: int) -> list[str]:
    timings = Timings()

    async def one() -> str:
        case_id = await bench.departments.launch(CASE_MATTER, case_number("lat"), timings)
        await bench.departments.drive(case_id, UP_TO_IN_PROGRESS[:1], timings, limit="15 working-days")
        return case_id

    cases, errors, _ = await bounded([one] * count, 10, bench.plan.scenario_seconds)
    if errors:
        raise RuntimeError(f"preparing cases failed: {errors[0]!r}") from errors[0]
    return cases


async def _one_at_a_time(calls: list[Callable[[], Awaitable[object]]], seconds: float) -> list[float]:
    """Each call once the one before has answered; returns each one's latency."""
    latencies: list[float] = []
    async with asyncio.timeout(seconds):
        for call in calls:
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)
    return latencies


def _door_calls(bench: Bench, cases: list[str], step: str) -> list[Callable[[], Awaitable[object]]]:
    departments = bench.departments

    def call(case_id: str) -> Callable[[], Awaitable[object]]:
        return lambda: departments.drive(case_id, (step,), Timings(), limit="15 working-days")

    return [call(case_id) for case_id in cases]


def _direct_calls(bench: Bench, cases: list[str], step: str) -> list[Callable[[], Awaitable[object]]]:
    lead = c.Actor.model_validate({"department": LEAD, "role": "lead"})
    locality = c.Actor.model_validate({"department": LOCALITY, "role": "locality"})
    commands: dict[str, c.CaseCommand] = {
        "sign_lead": c.SignAssignment(actor=lead),
        "sign_locality": c.SignAssignment(actor=locality),
        "commit": c.FileCommitment.model_validate(
            {"actor": lead, "limit": {"amount": 15, "unit": "working-days"}, "plan": PLAN_TEXT}
        ),
    }

    def call(case_id: str) -> Callable[[], Awaitable[object]]:
        return lambda: bench.engine.case_by_id(case_id).send(commands[step])

    return [call(case_id) for case_id in cases]


async def _door_adds(bench: Bench, count: int, rate: float | None) -> float:
    """The door's p50 less the direct p50, in ms, of the two signs of `count` cases, every other case's through the
    door and the rest straight to the engine, sent in turn: at `rate`, or one at a time without one."""
    cases = await _accepted_cases(bench, count)
    calls: list[Callable[[], Awaitable[object]]] = []
    by_door: list[bool] = []
    for step in ("sign_lead", "sign_locality"):
        for index, case_id in enumerate(cases):
            by_door.append(index % 2 == 0)
            calls += (_door_calls if by_door[-1] else _direct_calls)(bench, [case_id], step)
    seconds = bench.plan.scenario_seconds
    latencies = await (_one_at_a_time(calls, seconds) if rate is None else _paced(calls, rate, seconds))
    door = [latency for latency, sent in zip(latencies, by_door, strict=True) if sent]
    direct = [latency for latency, sent in zip(latencies, by_door, strict=True) if not sent]
    return (percentile(door, 0.5) - percentile(direct, 0.5)) * 1000


def _bare_calls(
    handles: list[WorkflowHandle[BareCase, BareAnswer]], step: str
) -> list[Callable[[], Awaitable[object]]]:
    def call(handle: WorkflowHandle[BareCase, BareAnswer]) -> Callable[[], Awaitable[object]]:
        return lambda: handle.execute_update(BareCase.step, BareStep(name=step))

    return [call(handle) for handle in handles]


async def run(bench: Bench) -> None:
    plan = bench.plan
    capacity = bench.facts.get("capacity")
    rate = 0.5 * statistics.median(capacity) if capacity else FALLBACK_RATE
    bench.facts["latency_rate"] = rate
    variants = ("door", "direct", "bare")
    for repetition in bench.repetitions(SCENARIO):
        order = variants[repetition % 3 :] + variants[: repetition % 3]
        for variant in order:
            latencies: dict[str, list[float]] = {}
            if variant == "bare":
                timings = Timings()
                handles = [
                    await bench.bare.start(case_number("bare-lat"), timings, BareStart(updates=len(MEASURED)))
                    for _ in range(plan.latency_cases)
                ]
                for step in MEASURED:
                    latencies[step] = await _paced(_bare_calls(handles, step), rate, plan.scenario_seconds)
            else:
                cases = await _accepted_cases(bench, plan.latency_cases)
                build = _door_calls if variant == "door" else _direct_calls
                for step in MEASURED:
                    latencies[step] = await _paced(build(bench, cases, step), rate, plan.scenario_seconds)
            signs = latencies["sign_lead"] + latencies["sign_locality"]
            for command, samples in (("sign", signs), ("commit", latencies["commit"])):
                for label, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
                    value = percentile(samples, fraction) * 1000
                    name = f"{command} {label}"
                    if variant == "bare":
                        bench.figures.add(SCENARIO, f"{name} (door)", "ms", baseline=value)
                        bench.figures.add(SCENARIO, f"{name} (direct)", "ms", baseline=value)
                    else:
                        bench.figures.add(SCENARIO, f"{name} ({variant})", "ms", caseloop=value)
        adds = await _door_adds(bench, plan.latency_cases, rate)
        bench.figures.add(SCENARIO, "the door adds at p50 (sign)", "ms", caseloop=adds)
        alone = await _door_adds(bench, 2 * min(plan.latency_cases, ONE_AT_A_TIME_CASES), None)
        bench.figures.add(SCENARIO, "the door adds at p50 (sign, one at a time)", "ms", caseloop=alone)
