"""`python -m bench [--plan quick|full] [--only N,...]`: brings the benchmark's stack up, runs the scenarios, writes
the Markdown table, the JSON and the charts under bench/results/, and takes the stack down."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bench import report
from bench.harness import PLANS, Bench, Plan
from bench.scenarios import SCENARIOS
from bench.stack import BIN, Stack, running_stack

RESULTS = Path(__file__).resolve().parent / "results"


@contextlib.contextmanager
def profiling(stack: Stack, process: str | None, results: Path, plan: Plan, gil: bool = False) -> Iterator[None]:
    """py-spy samples `process` (worker, door, bare, server is not Python) while the scenarios run: a flame graph
    (SVG) and the raw collapsed stacks (for `grep` and sorting) under `results`. With `gil`, only the thread holding
    the GIL is sampled: the shares are then of the Python CPU the process spends, not of its threads' waits."""
    if process is None:
        yield
        return
    pid = str(stack.processes[process].pid)
    outputs = {"flamegraph": results / f"{plan.name}-profile-{process}.svg"}
    outputs["raw"] = outputs["flamegraph"].with_suffix(".txt")
    spies = [
        subprocess.Popen(
            [
                *(str(BIN / "py-spy"), "record", "--nonblocking", *(("--gil",) if gil else ())),
                *("--pid", pid, "--format", kind, "--output", str(path)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for kind, path in outputs.items()
    ]
    try:
        yield
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
            try:
                spy.wait(60)
            except subprocess.TimeoutExpired:
                spy.kill()
        print(f"profile of the {process}: {', '.join(str(path) for path in outputs.values())}", flush=True)


async def run(
    plan: Plan,
    only: set[str],
    results: Path,
    keep: Path | None,
    profile: str | None,
    instant: bool = False,
    gil: bool = False,
) -> Path:
    started = time.monotonic()
    async with running_stack(keep) as stack:
        print(f"stack up in {time.monotonic() - started:.1f} s ({stack.directory})", flush=True)
        bench = await Bench.open(stack, plan)
        bench.started = started
        if instant:
            bench.profile_instant = functools.partial(profiling, stack, profile, results, plan, gil)
        try:
            with profiling(stack, None if instant else profile, results, plan, gil):
                for key, (title, scenario) in SCENARIOS.items():
                    if only and key not in only:
                        continue
                    if time.monotonic() - started > plan.budget_seconds:
                        bench.facts.setdefault("failures", {})[title] = "skipped: the plan's time budget was spent"
                        continue
                    began = time.monotonic()
                    print(f"scenario {title} ...", flush=True)
                    try:
                        await scenario(bench)
                    except Exception as error:  # one scenario's failure is reported, and the others still run
                        bench.facts.setdefault("failures", {})[title] = repr(error)
                        print(f"  failed: {error!r}", flush=True)
                    print(f"  {time.monotonic() - began:.1f} s", flush=True)
                    dead = [name for name, process in stack.processes.items() if not process.alive()]
                    if dead:  # what follows would measure a broken stack: stop, and say so
                        bench.facts.setdefault("failures", {})["stack"] = f"{', '.join(dead)} died during {title}"
                        break
        finally:
            bench.facts["resent"] = bench.departments.resent
            await bench.close()
        bench.facts["total_seconds"] = time.monotonic() - started
        return report.write(bench, results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--plan", choices=sorted(PLANS), default="quick")
    parser.add_argument("--only", default="", help=f"comma-separated scenario keys: {', '.join(SCENARIOS)}")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the table, JSON and charts go")
    parser.add_argument("--keep", type=Path, help="keep the stack's files in this directory (for a look after)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=N",
        help="override a count of the plan, e.g. --set burst_cases=500 (repeatable)",
    )
    parser.add_argument(
        "--profile", choices=("worker", "door", "bare"), help="sample this process with py-spy during the scenarios"
    )
    parser.add_argument(
        "--profile-instant",
        action="store_true",
        help="with --profile, sample only the 17:30 burst's instant on caseloop's side (a second before it until "
        "every card is recorded), not its preparation; give --set repetitions=1, as each instant overwrites the last",
    )
    parser.add_argument(
        "--profile-gil",
        action="store_true",
        help="with --profile, sample only the thread holding the GIL (py-spy --gil): where the process's Python CPU "
        "goes, without the samples of threads waiting on a lock, a queue or the event loop's select",
    )
    args = parser.parse_args(argv)
    if (args.profile_instant or args.profile_gil) and args.profile is None:
        parser.error("--profile-instant and --profile-gil: give --profile too")
    args.results.mkdir(parents=True, exist_ok=True)
    only = {key.strip() for key in args.only.split(",") if key.strip()}
    unknown = only - set(SCENARIOS)
    if unknown:
        parser.error(f"--only: unknown scenario {', '.join(sorted(unknown))}")
    plan = Plan.of(args.plan)
    for assignment in args.set:
        name, _, value = assignment.partition("=")
        if name not in plan.__dataclass_fields__ or name == "name" or not value.replace(".", "", 1).isdigit():
            parser.error(f"--set {assignment}: give FIELD=N with a field of the plan ({', '.join(vars(plan))})")
        current = getattr(plan, name)
        plan = dataclasses.replace(plan, **{name: type(current)(float(value))})
    table = asyncio.run(run(plan, only, args.results, args.keep, args.profile, args.profile_instant, args.profile_gil))
    print(table.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
