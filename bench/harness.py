"""The run: one stack, the scenarios in order, each caseloop and baseline repetition interleaved, and the figures
they add."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from temporalio.client import Client

from bench.bare import connect as bare_connect
from bench.departments import BareDepartments, Departments
from bench.stack import Stack
from bench.stats import Figures
from caseloop.direct import CaseClient as Engine

T = TypeVar("T")


@dataclass(frozen=True)
class Plan:
    """How much each scenario does; `quick` fits `make bench-quick` (< 2 min), `full` fits `make bench` (< 15),
    `issue` runs the counts issue 13 names."""

    name: str
    repetitions: int
    lifecycle_cases: int
    lifecycle_concurrency: int
    latency_cases: int
    scale_cases_per_step: int
    scale_concurrency: int
    burst_cases: int
    handoff_events: int
    cold_start_runs: int
    scenario_seconds: float  # every scenario stops by itself after this long, whatever it reached
    budget_seconds: float  # the whole run: scenarios not started by then are skipped, and the report says so

    @classmethod
    def of(cls, name: str) -> Plan:
        return PLANS[name]


PLANS = {
    "tiny": Plan("tiny", 1, 2, 2, 2, 5, 5, 3, 3, 1, 30, 120),
    "quick": Plan("quick", 3, 4, 4, 3, 30, 15, 4, 6, 3, 30, 110),
    "full": Plan("full", 3, 30, 15, 36, 200, 30, 200, 60, 5, 180, 840),
    # The issue's own counts (20,000 open cases, 10,000 rungs, 5,000 results): hours on this machine, on demand only.
    "issue": Plan("issue", 3, 60, 20, 40, 6700, 50, 10_000, 5_000, 5, 7200, 6 * 3600),
}


@dataclass
class Bench:
    """What every scenario gets: the stack, the drivers of both sides, the plan and the figures so far."""

    stack: Stack
    plan: Plan
    departments: Departments
    bare: BareDepartments
    engine: Engine
    temporal: Client
    figures: Figures = field(default_factory=Figures)
    facts: dict[str, Any] = field(default_factory=dict)  # what later scenarios use (capacity), and notes
    started: float = field(default_factory=time.monotonic)
    # What samples the 17:30 burst's instant (`--profile-instant`); by default nothing.
    profile_instant: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext

    @classmethod
    async def open(cls, stack: Stack, plan: Plan) -> Bench:
        departments = await Departments.connect(stack)
        temporal = await bare_connect(stack.settings.temporal_target)
        engine = await Engine.connect(stack.settings, within=600)
        return cls(stack, plan, departments, BareDepartments(temporal), engine, temporal)

    async def close(self) -> None:
        await self.departments.close()
        await self.engine.close()

    def repetitions(self, title: str, count: int | None = None) -> Iterator[int]:
        """The repetitions of a scenario, the first always; a later one only while the run's budget lasts (the
        report says how many ran)."""
        count = self.plan.repetitions if count is None else count
        for repetition in range(count):
            # Repetitions stop a little before the budget, so that the scenarios after this one still get a first.
            if repetition and time.monotonic() - self.started > 0.85 * self.plan.budget_seconds:
                self.facts.setdefault("cut_short", {})[title] = f"{repetition} of {count} repetitions (time budget)"
                return
            yield repetition

    def sides(self, repetition: int) -> tuple[str, str]:
        """Which side goes first in this repetition: they alternate, so that neither always meets a warmer
        server."""
        return ("caseloop", "baseline") if repetition % 2 == 0 else ("baseline", "caseloop")


async def bounded(
    calls: Iterable[Callable[[], Awaitable[T]]], concurrency: int, seconds: float
) -> tuple[list[T], list[BaseException], bool]:
    """Runs the calls at most `concurrency` at a time, for at most `seconds`; returns results, errors, and whether
    it ran out of time (then the calls not yet started were never started)."""
    gate = asyncio.Semaphore(concurrency)
    deadline = time.monotonic() + seconds
    results: list[T] = []
    errors: list[BaseException] = []
    timed_out = False

    async def one(call: Callable[[], Awaitable[T]]) -> None:
        nonlocal timed_out
        async with gate:
            if time.monotonic() > deadline:
                timed_out = True
                return
            try:
                results.append(await call())
            except Exception as error:
                errors.append(error)

    tasks = [asyncio.create_task(one(call)) for call in calls]
    done, pending = await asyncio.wait(tasks, timeout=seconds + 30) if tasks else (set(), set())
    for task in pending:
        task.cancel()
        timed_out = True
    if pending:
        await asyncio.wait(pending)
    del done
    return results, errors, timed_out


class CpuMeter:
    """CPU seconds each process of the stack spent between start and stop, as a fraction of one core."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self._before = stack.cpu()
        self._started = time.monotonic()

    def cores(self) -> dict[str, float]:
        after = self._stack.cpu()
        elapsed = max(time.monotonic() - self._started, 1e-9)
        return {name: (after[name] - self._before[name]) / elapsed for name in after}
