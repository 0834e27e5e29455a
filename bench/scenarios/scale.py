"""Scenario 3, open-case scale: cases launched and left open (each with its acceptance clock armed), in equal steps,
beside as many bare workflows each holding a timer a month ahead; after each step, the time it took, worker and
server RSS, and the store and Temporal database sizes. The growth per 1,000 open cases extrapolates to 20,000."""

from __future__ import annotations

import time

from bench.bare import BareStart
from bench.departments import Timings, case_number
from bench.harness import Bench, bounded
from bench.stack import CASE_MATTER

SCENARIO = "3 open-case scale"
HOLD_SECONDS = 30 * 24 * 3600.0
EXTRAPOLATED_FROM = 500  # open cases


async def _open(bench: Bench, side: str, count: int) -> tuple[int, float]:
    timings = Timings()

    async def call() -> object:
        if side == "caseloop":
            return await bench.departments.launch(CASE_MATTER, case_number("open"), timings)
        return await bench.bare.start(case_number("bare-open"), timings, BareStart(hold_seconds=HOLD_SECONDS))

    started = time.perf_counter()
    done, errors, _ = await bounded([call] * count, bench.plan.scale_concurrency, bench.plan.scenario_seconds)
    if errors:
        raise RuntimeError(f"{side}: {len(errors)} opens failed: {errors[0]!r}") from errors[0]
    return len(done), time.perf_counter() - started


async def run(bench: Bench) -> None:
    plan, stack = bench.plan, bench.stack
    opened = {"caseloop": 0, "baseline": 0}
    first: dict[str, float] = {}
    for repetition in bench.repetitions(SCENARIO):
        for side in bench.sides(repetition):
            count, elapsed = await _open(bench, side, plan.scale_cases_per_step)
            opened[side] += count
            bench.figures.record(
                SCENARIO, "opened per second", "cases/s", higher_is_better=True, side=side, value=count / elapsed
            )
        rss = stack.rss()
        bench.figures.add(SCENARIO, "worker RSS", "MB", caseloop=rss["worker"], baseline=rss["bare"])
        bench.figures.add(SCENARIO, "door RSS", "MB", caseloop=rss["door"])
        bench.figures.add(SCENARIO, "server RSS (both sides' cases)", "MB", caseloop=rss["server"])
        bench.figures.add(SCENARIO, "store size", "MB", caseloop=stack.size_mb(stack.store_path))
        bench.figures.add(
            SCENARIO, "Temporal DB size (both sides)", "MB", caseloop=stack.size_mb(stack.temporal_db_path)
        )
        if repetition == 0:
            first = {"worker": rss["worker"], "bare": rss["bare"], "cases": opened["caseloop"]}
    rss = stack.rss()
    grown = opened["caseloop"] - first.get("cases", 0)
    if grown > 0:
        per_thousand = (rss["worker"] - first["worker"]) / grown * 1000
        bench.figures.add(
            SCENARIO,
            "worker RSS growth per 1,000 open cases",
            "MB",
            caseloop=per_thousand,
            baseline=(rss["bare"] - first["bare"]) / grown * 1000,
        )
        if opened["caseloop"] >= EXTRAPOLATED_FROM:  # fewer is warm-up and noise, not a slope
            bench.facts["scale_extrapolated_worker_rss_20000_mb"] = rss["worker"] + per_thousand * (
                20 - opened["caseloop"] / 1000
            )
    bench.facts["scale_note"] = (
        f"{opened['caseloop']} cases and {opened['baseline']} bare workflows left open, in {plan.repetitions} steps"
    )
