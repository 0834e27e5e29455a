"""Scenario 4, the 17:30 burst: cases whose committed deadlines fall on one instant, and how late each red card is
recorded in the store after it; beside as many bare timers due at one instant, each recording its wake-up with one
activity.

The instant is near in real time: the cases are received an hour before it, on a matter counted in natural hours,
and the lead commits one hour, counted from the receipt. So every deadline is that instant, as every working-day
deadline of a city is 17:30. Lateness is when the benchmark first sees the row, polling both stores alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from bench.bare import BareStart
from bench.departments import UP_TO_IN_PROGRESS, Timings, case_number
from bench.harness import Bench, bounded
from bench.stack import BURST_MATTER
from bench.stats import percentile
from schemas.ledger import CardReason

SCENARIO = "4 the 17:30 burst"
CHAINS_SAMPLED = 20  # histories read per side and repetition for where the lateness goes
COMMITTED = "1 natural-hours"
# Lateness is known to this step; 40 rungs took 0.4-0.8 s, which 0.2 s steps cut into 2 to 4 ticks.
POLL_SECONDS = 0.02
PREP_CONCURRENCY = 20
BARE_STARTS_PER_SECOND = 40.0  # a safe guess for how fast the bare timers are armed


def _count(database: Path, query: str, argument: str) -> set[str]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as db:
        return {row[0] for row in db.execute(query, (argument,))}


async def _watch(
    database: Path,
    query: str,
    argument: str,
    expected: int,
    due: float,
    seconds: float,
    sampled: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext,
) -> list[float]:
    """Polls until `expected` rows match; returns each row's lateness after `due` (epoch seconds) as first seen.
    `sampled` is held from a second before the instant until the polling ends (the profile of the instant)."""
    seen: dict[str, float] = {}
    give_up = due + seconds
    await asyncio.sleep(max(0.0, due - time.time() - 1))
    with sampled():
        while len(seen) < expected and time.time() < give_up:
            now = time.time()
            for row in await asyncio.to_thread(_count, database, query, argument):
                seen.setdefault(row, now - due)
            await asyncio.sleep(POLL_SECONDS)
    return sorted(seen.values())


def _at(event: HistoryEvent) -> float:
    return event.event_time.ToDatetime(UTC).timestamp()


async def _chain(bench: Bench, workflow_id: str, due: float, activity: str) -> dict[str, float] | None:
    """Where one rung's lateness went, read from its history: the timer's firing after the instant, the workflow
    task up to the recording activity's scheduling, the activity's wait for a worker, and its run."""
    events = (await bench.temporal.get_workflow_handle(workflow_id).fetch_history()).events
    fired = next((e for e in events if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED and _at(e) >= due - 1), None)
    scheduled = next(
        (
            e
            for e in events
            if fired is not None
            and e.event_id > fired.event_id
            and e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
            and e.activity_task_scheduled_event_attributes.activity_type.name == activity
        ),
        None,
    )
    if fired is None or scheduled is None:
        return None
    of_it = [
        e
        for e in events
        if scheduled.event_id
        in (
            e.activity_task_started_event_attributes.scheduled_event_id,
            e.activity_task_completed_event_attributes.scheduled_event_id,
        )
    ]
    started = next((e for e in of_it if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED), None)
    completed = next((e for e in of_it if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED), None)
    if started is None or completed is None:
        return None
    return {
        "timer fired after the instant": _at(fired) - due,
        "fired to the recording activity scheduled": _at(scheduled) - _at(fired),
        "recording activity waited for a worker": _at(started) - _at(scheduled),
        "recording activity ran": _at(completed) - _at(started),
    }


async def _chains(bench: Bench, side: str, workflow_ids: list[str], due: float, activity: str) -> None:
    chains = [
        chain
        for workflow_id in workflow_ids[:CHAINS_SAMPLED]
        if (chain := await _chain(bench, workflow_id, due, activity)) is not None
    ]
    for name in chains[0] if chains else ():
        value = statistics.median(chain[name] for chain in chains) * 1000
        bench.figures.record(SCENARIO, f"{name}, p50 of the sample", "ms", side=side, value=value)


async def _caseloop(bench: Bench, repetition: int, count: int) -> tuple[list[float], float, str]:
    capacity = statistics.median(bench.facts.get("capacity") or [10.0])
    commands = count * (1 + len(UP_TO_IN_PROGRESS))
    lead_seconds = commands / capacity * 1.4 + 3
    due = datetime.now(UTC) + timedelta(seconds=lead_seconds)
    received = due - timedelta(hours=1)
    prefix = f"burst{repetition}x{int(time.time())}"
    timings = Timings()

    async def one() -> str:
        case_id = await bench.departments.launch(BURST_MATTER, case_number(prefix), timings, received_at=received)
        await bench.departments.drive(case_id, UP_TO_IN_PROGRESS, timings, limit=COMMITTED)
        return case_id

    cases, errors, _ = await bounded([one] * count, PREP_CONCURRENCY, lead_seconds)
    note = ""
    if errors:
        # Too slow a preparation leaves the instant behind (commitment.deadline-passed): measured without them.
        note = f"caseloop: {len(errors)} of {count} cases not ready before the instant ({errors[0]!r})"
    query = "SELECT card_id FROM cards WHERE reason = ? AND subject_id LIKE '%" + prefix + "%'"
    lateness = await _watch(
        bench.stack.store_path,
        query,
        CardReason.DEADLINE_OVERDUE.value,
        len(cases),
        due.timestamp(),
        bench.plan.scenario_seconds,
        bench.profile_instant,
    )
    await _chains(bench, "caseloop", cases, due.timestamp(), "case_record_changes")
    return lateness, float(len(cases)), note


async def _baseline(bench: Bench, repetition: int, count: int) -> tuple[list[float], float, str]:
    # Started no faster than the bare updates of scenario 1 ran, so that every timer is armed before its instant.
    starts_per_second = statistics.median(bench.facts.get("bare_capacity") or [BARE_STARTS_PER_SECOND])
    lead_seconds = count / starts_per_second * 1.4 + 3
    due = datetime.now(UTC) + timedelta(seconds=lead_seconds)
    prefix = f"bare-burst{repetition}x{int(time.time())}"
    timings = Timings()

    async def one() -> str:
        handle = await bench.bare.start(case_number(prefix), timings, BareStart(wake_at=due))
        return handle.id

    started, errors, _ = await bounded([one] * count, PREP_CONCURRENCY, lead_seconds)
    if errors:
        raise RuntimeError(f"arming the bare timers failed: {errors[0]!r}") from errors[0]
    query = "SELECT workflow_id FROM wakes WHERE workflow_id LIKE ? "
    lateness = await _watch(
        bench.stack.wake_db, query, f"{prefix}%", len(started), due.timestamp(), bench.plan.scenario_seconds
    )
    await _chains(bench, "baseline", started, due.timestamp(), "bare_record_wake")
    return lateness, float(len(started)), ""


async def run(bench: Bench) -> None:
    plan = bench.plan
    for repetition in bench.repetitions(SCENARIO):
        for side in bench.sides(repetition):
            runner = _caseloop if side == "caseloop" else _baseline
            lateness, expected, note = await runner(bench, repetition, plan.burst_cases)
            if note:
                bench.facts.setdefault("burst_notes", []).append(note)
            if len(lateness) < expected:
                bench.facts.setdefault("burst_notes", []).append(
                    f"{side}: {len(lateness)} of {expected:.0f} recorded within {plan.scenario_seconds:.0f} s"
                )
            if not lateness:
                continue
            last = max(lateness[-1], 1e-3)
            values = {
                "recorded lateness p50": (percentile(lateness, 0.5), "s"),
                "recorded lateness p99": (percentile(lateness, 0.99), "s"),
                "all recorded after the instant": (last, "s"),
            }
            for name, (value, unit) in values.items():
                bench.figures.record(SCENARIO, name, unit, side=side, value=value)
            bench.figures.record(
                SCENARIO, "recorded per second", "rungs/s", higher_is_better=True, side=side, value=len(lateness) / last
            )
    bench.facts["burst_note"] = (
        f"{plan.burst_cases} rungs due at one instant per side and repetition; where the lateness went, the p50 over "
        f"a sample of up to {CHAINS_SAMPLED} of their histories"
    )
