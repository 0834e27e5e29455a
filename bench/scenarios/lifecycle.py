"""Scenario 1, lifecycle throughput: cases through the whole happy path (launch and 11 commands), driven by
concurrent simulated departments through the SDK and the door, beside bare workflows taking one start and 11
updates of one activity each, starting and cancelling as many timers as the cases' clocks.
Cases/s, commands/s, per-process CPU; the capacity later scenarios load at half of."""

from __future__ import annotations

import time

from bench.bare import BareStart
from bench.departments import CLOCKS, HAPPY_PATH, Timings, case_number
from bench.harness import Bench, CpuMeter, bounded
from bench.stack import CASE_MATTER

SCENARIO = "1 lifecycle throughput"
COMMITTED = "15 working-days"


async def _caseloop(bench: Bench, cases: int, timings: Timings) -> tuple[int, float, dict[str, float]]:
    async def one_case() -> str:
        case_id = await bench.departments.launch(CASE_MATTER, case_number("life"), timings)
        await bench.departments.drive(case_id, HAPPY_PATH, timings, limit=COMMITTED)
        return case_id

    meter = CpuMeter(bench.stack)
    started = time.perf_counter()
    done, errors, _ = await bounded([one_case] * cases, bench.plan.lifecycle_concurrency, bench.plan.scenario_seconds)
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} caseloop cases failed; the first: {errors[0]!r}") from errors[0]
    bench.facts.setdefault("lifecycle_case_ids", []).extend(done)
    return len(done), elapsed, meter.cores()


async def _baseline(bench: Bench, cases: int, timings: Timings) -> tuple[int, float, dict[str, float]]:
    async def one_case() -> str:
        handle = await bench.bare.start(case_number("bare-life"), timings, BareStart(updates=len(HAPPY_PATH)))
        await bench.bare.drive(handle, HAPPY_PATH, timings)
        return handle.id

    meter = CpuMeter(bench.stack)
    started = time.perf_counter()
    done, errors, _ = await bounded([one_case] * cases, bench.plan.lifecycle_concurrency, bench.plan.scenario_seconds)
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} bare cases failed; the first: {errors[0]!r}") from errors[0]
    bench.facts.setdefault("bare_case_ids", []).extend(done)
    return len(done), elapsed, meter.cores()


async def run(bench: Bench) -> None:
    plan = bench.plan
    commands = 1 + len(HAPPY_PATH)
    for repetition in bench.repetitions(SCENARIO):
        for side in bench.sides(repetition):
            timings = Timings()
            runner = _caseloop if side == "caseloop" else _baseline
            finished, elapsed, cores = await runner(bench, plan.lifecycle_cases, timings)
            values = {
                "cases/s": finished / elapsed,
                "commands/s": finished * commands / elapsed,
            }
            for name, value in values.items():
                bench.figures.record(SCENARIO, name, name, higher_is_better=True, side=side, value=value)
            bench.figures.record(SCENARIO, "server CPU", "cores", side=side, value=cores["server"])
            worker = cores["worker"] if side == "caseloop" else cores["bare"]
            # On a shared, saturated machine the CPU a command costs is what sets throughput.
            ours = cores["server"] + worker + (cores["door"] if side == "caseloop" else 0.0)
            spent = ours * elapsed / (finished * commands) * 1000
            bench.figures.record(SCENARIO, "CPU per command (server + worker + door)", "ms", side=side, value=spent)
            bench.figures.record(SCENARIO, "worker CPU", "cores", side=side, value=worker)
            capacity = "capacity" if side == "caseloop" else "bare_capacity"
            bench.facts.setdefault(capacity, []).append(finished * commands / elapsed)
            if side == "caseloop":
                bench.figures.add(SCENARIO, "door CPU", "cores", caseloop=cores["door"])
    started = sum(arm for arm, _ in CLOCKS.values())
    stopped = sum(stop for _, stop in CLOCKS.values())
    bench.facts["lifecycle_note"] = (
        f"{plan.lifecycle_cases} cases, {plan.lifecycle_concurrency} at a time, launch + {len(HAPPY_PATH)} commands "
        f"each; baseline: 1 start + {len(HAPPY_PATH)} updates of one activity, {started} timers started and "
        f"{stopped} cancelled at the steps where the cases' clocks start and stop"
    )
