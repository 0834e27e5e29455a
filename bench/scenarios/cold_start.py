"""Scenario 7, cold start: `caseloop deadline` and `caseloop case show` as whole processes (wall time from exec to
exit), beside the interpreter starting and doing nothing (`python -c pass`), interleaved run by run."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

from bench.departments import UP_TO_IN_PROGRESS, Timings, case_number
from bench.harness import Bench
from bench.stack import BIN, CASE_MATTER, INITIATOR

SCENARIO = "7 cold start"


def _wall(argv: list[str]) -> float:
    started = time.perf_counter()
    finished = subprocess.run(argv, capture_output=True, timeout=120, env=os.environ.copy(), check=False)
    elapsed = time.perf_counter() - started
    if finished.returncode:
        raise RuntimeError(f"{' '.join(argv[:3])} exited {finished.returncode}: {finished.stderr.decode()[-500:]}")
    return elapsed


async def run(bench: Bench) -> None:
    case_id = await bench.departments.launch(CASE_MATTER, case_number("cold"), Timings())
    await bench.departments.drive(case_id, UP_TO_IN_PROGRESS[:1], Timings(), limit="15 working-days")
    caseloop = str(BIN / "caseloop")
    commands = {
        "caseloop deadline": [
            caseloop,
            "deadline",
            "--from",
            "2026-06-01T09:00:00+08:00",
            "--limit",
            "15",
            "--unit",
            "working-days",
        ],
        "caseloop case show": [
            caseloop,
            "case",
            "show",
            case_id,
            "--api-url",
            bench.stack.api_url,
            "--api-key-file",
            str(bench.stack.key_file(INITIATOR)),
        ],
    }
    interpreter = [sys.executable, "-c", "pass"]
    for _ in bench.repetitions(SCENARIO, bench.plan.cold_start_runs):
        bare = await asyncio.to_thread(_wall, interpreter)
        for name, argv in commands.items():
            bench.figures.add(
                SCENARIO,
                name,
                "s",
                caseloop=await asyncio.to_thread(_wall, argv),
                baseline=bare,
                note="baseline: `python -c pass`",
            )
