"""The scenarios of issue 13, by key, in the order a run takes them (later ones use the capacity the first
measures)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bench.harness import Bench
from bench.scenarios import burst, cold_start, handoff, history, latency, lifecycle, scale

Scenario = Callable[[Bench], Awaitable[None]]

SCENARIOS: dict[str, tuple[str, Scenario]] = {
    "lifecycle": (lifecycle.SCENARIO, lifecycle.run),
    "history": (history.SCENARIO, history.run),
    "latency": (latency.SCENARIO, latency.run),
    "burst": (burst.SCENARIO, burst.run),
    "handoff": (handoff.SCENARIO, handoff.run),
    "scale": (scale.SCENARIO, scale.run),  # late: the cases it leaves open would weigh on the scenarios after it
    "cold-start": (cold_start.SCENARIO, cold_start.run),  # last: whole processes, unaffected by open cases
}
