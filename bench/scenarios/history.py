"""Scenario 6, history cost: events, activities, markers and bytes of the cases scenario 1 drove to write-off, per
case and per command, beside the bare workflows of the same scenario."""

from __future__ import annotations

import random
from collections import Counter

from temporalio.api.enums.v1 import EventType

from bench.departments import HAPPY_PATH
from bench.harness import Bench

SCENARIO = "6 history cost"
SAMPLED = 5  # histories read per side: they are alike, and reading one costs the server a little


async def _cost(bench: Bench, workflow_ids: list[str]) -> list[dict[str, float]]:
    costs: list[dict[str, float]] = []
    for workflow_id in random.sample(workflow_ids, min(SAMPLED, len(workflow_ids))):
        history = await bench.temporal.get_workflow_handle(workflow_id).fetch_history()
        kinds = [event.event_type for event in history.events]
        scheduled = [
            event.activity_task_scheduled_event_attributes.activity_type.name
            for event in history.events
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        ]
        # Which activities a case runs, and how often: where the history's weight comes from.
        bench.facts.setdefault("activities_by_type", {})[workflow_id] = dict(Counter(scheduled).most_common())
        costs.append(
            {
                "events": len(kinds),
                "bytes": sum(event.ByteSize() for event in history.events),
                "activities": kinds.count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
                "markers": kinds.count(EventType.EVENT_TYPE_MARKER_RECORDED),
                "timers": kinds.count(EventType.EVENT_TYPE_TIMER_STARTED),
                "timers cancelled": kinds.count(EventType.EVENT_TYPE_TIMER_CANCELED),
                "workflow tasks": kinds.count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
                "search attribute upserts": kinds.count(EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES),
                "memo writes": kinds.count(EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED),
            }
        )
    return costs


async def run(bench: Bench) -> None:
    cases = bench.facts.get("lifecycle_case_ids", [])
    bare = bench.facts.get("bare_case_ids", [])
    if not cases or not bare:
        raise RuntimeError("history cost reads the histories of scenario 1: run it too")
    commands = 1 + len(HAPPY_PATH)
    for side, ids in (("caseloop", cases), ("baseline", bare)):
        for cost in await _cost(bench, ids):
            for name, value in cost.items():
                bench.figures.record(SCENARIO, f"{name} per case", name, side=side, value=value)
            bench.figures.record(SCENARIO, "events per command", "events", side=side, value=cost["events"] / commands)
            bench.figures.record(SCENARIO, "bytes per command", "bytes", side=side, value=cost["bytes"] / commands)
