"""One alarm for a case's clocks (workflows.sla.Alarm): a single durable timer to the earliest rung of them all."""

from __future__ import annotations

import json

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.worker import Worker

from schemas.case import commands as c
from schemas.clock import RungKind
from tests.case.driver import Driver, coordinator
from tests.case.parties import LEAD, LOCALITY
from tests.case.scenarios import SCENARIOS
from tests.case.test_ladder import rung
from workflows.case.workflow import INBOX_WITH_RECORDS_PATCH, CaseWorkflow


async def _timers_pending_at_most(handle: WorkflowHandle) -> int:
    """The most timers the case had started and not yet seen fire or cancelled, over its whole history."""
    pending: set[str] = set()
    most = 0
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            pending.add(event.timer_started_event_attributes.timer_id)
        elif event.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
            pending.discard(event.timer_fired_event_attributes.timer_id)
        elif event.event_type == EventType.EVENT_TYPE_TIMER_CANCELED:
            pending.discard(event.timer_canceled_event_attributes.timer_id)
        most = max(most, len(pending))
    return most


async def _patch_markers(handle: WorkflowHandle) -> list[str]:
    markers = []
    async for event in handle.fetch_history_events():
        attributes = event.marker_recorded_event_attributes
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED and attributes.marker_name == "core_patch":
            markers.append(json.loads(attributes.details["patch-data"].payloads[0].data)["id"])
    return markers


async def test_the_happy_path_keeps_one_timer_and_one_patch_marker(case_worker: Worker, driver: Driver) -> None:
    handle = await SCENARIOS["happy_path"](driver)
    # Its clocks ran two at a time (the signs, the deadline and its progress reports), on one timer.
    assert await _timers_pending_at_most(handle) == 1
    # Every earlier patch holds for a run begun on this code, without a marker of its own.
    assert await _patch_markers(handle) == [INBOX_WITH_RECORDS_PATCH]


async def test_two_clocks_due_at_one_instant_both_fire_on_one_timer(case_worker: Worker, driver: Driver) -> None:
    handle = await driver.start()
    await handle.execute_update(CaseWorkflow.accept, c.AcceptCase(actor=coordinator))
    view = await driver.view(handle)
    red = rung(view, "sign:a1", RungKind.RED)
    assert rung(view, "sign:a2", RungKind.RED) == red  # neither signs: both clocks' rungs coincide

    await driver.sleep_until(red)
    await driver.settle()
    cards = await driver.cards(handle.id)
    assert sorted((department, reason) for department, _, reason, _ in cards) == [
        (LEAD, "sign_overdue"),
        (LOCALITY, "sign_overdue"),
    ]
    assert await _timers_pending_at_most(handle) == 1
