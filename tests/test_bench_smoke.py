"""The benchmark harness still runs: its own stack comes up, one case and one bare workflow go through the lifecycle
scenario, a few commands through the latency scenario, and the report is written. No timing is asserted: speed
belongs to `make bench`."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bench import report
from bench.harness import Bench, Plan
from bench.scenarios import latency, lifecycle
from bench.stack import running_stack

pytestmark = pytest.mark.slow


async def test_the_lifecycle_and_latency_scenarios_measure_both_sides(tmp_path: Path) -> None:
    plan = replace(Plan.of("tiny"), lifecycle_cases=1, lifecycle_concurrency=1)
    async with running_stack(tmp_path / "stack") as stack:
        bench = await Bench.open(stack, plan)
        try:
            await lifecycle.run(bench)
            await latency.run(bench)
        finally:
            await bench.close()
        table = report.write(bench, tmp_path / "results")

    written = json.loads((tmp_path / "results" / "tiny.json").read_text())
    [throughput] = [f for f in written["figures"] if f["name"] == "cases/s"]
    assert throughput["caseloop"]["n"] == throughput["baseline"]["n"] == 1
    assert throughput["ratio"] is not None and throughput["ratio"] > 0
    assert written["machine"]["cores"] >= 1
    assert "| 1 lifecycle throughput | cases/s |" in table.read_text()
    # What the door adds comes from signs through the door and straight to the engine in one stream: both were timed.
    adds = {f["name"]: f for f in written["figures"] if f["name"].startswith("the door adds")}
    assert sorted(adds) == ["the door adds at p50 (sign)", "the door adds at p50 (sign, one at a time)"]
    assert all(figure["caseloop"]["n"] == 1 for figure in adds.values())
