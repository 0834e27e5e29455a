"""A small workflow that embeds SlaClock the way the case and hand-off workflows do, driven by a script.

The legal clock's scenarios lie in the past of the test server's clock, so the drill runs on a simulated clock:
workflow.now() shifted so that the run starts at the clock's start. Timers are real durable timers all the same.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.clock.activities import ClockActivities
    from schemas.clock import (
        DeadlineExtension,
        DeadlineSuspension,
        FiredRung,
        Pause,
        RungScheduleRequest,
        SlaClockState,
    )
    from tests.clock.drill_models import DrillAction, DrillStep, SlaDrill, SlaDrillReport
    from workflows import policies

from workflows.sla import Alarm, SlaClock


@workflow.defn(name="SlaDrill")
class SlaDrillWorkflow:
    def __init__(self) -> None:
        self._callbacks = 0

    @workflow.run
    async def run(self, drill: SlaDrill) -> SlaDrillReport:
        offset = (drill.simulated_now or drill.clock.started_at) - workflow.now()
        self._simulated_offset = offset
        self._drill = drill
        alarm = Alarm(now=self._now) if drill.alarm else None
        self._timers = SlaClock(drill.state or SlaClockState(), self._on_rung, now=self._now, alarm=alarm)
        waking = asyncio.create_task(alarm.run()) if alarm is not None else None
        if drill.state is None:
            schedule = await workflow.execute_activity_method(
                ClockActivities.schedule_rungs,
                RungScheduleRequest(clock=drill.clock, profile=drill.profile),
                **policies.COMPUTE,
            )
            self._timers.arm(schedule)
        running = asyncio.create_task(self._timers.run())
        while drill.steps:
            step = drill.steps.pop(0)
            await self._reach(step)
            if step.action is DrillAction.CONTINUE_AS_NEW:
                self._timers.close()
                await running
                await self._stop(alarm, waking)
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    drill.model_copy(
                        update={"state": self._timers.state, "simulated_now": self._now(), "runs": drill.runs + 1}
                    )
                )
            await self._apply(step)
        await workflow.wait_condition(lambda: self._timers.settled)
        self._timers.close()
        await running
        await self._stop(alarm, waking)
        return SlaDrillReport(
            fired=self._timers.state.fired,
            callbacks=self._callbacks,
            state=self._timers.state,
            changes=drill.changes,
            runs=drill.runs,
        )

    @staticmethod
    async def _stop(alarm: Alarm | None, waking: asyncio.Task[None] | None) -> None:
        if alarm is not None and waking is not None:
            alarm.close()
            await waking

    def _now(self) -> datetime:
        return workflow.now() + self._simulated_offset

    async def _on_rung(self, fired: FiredRung) -> None:
        self._callbacks += 1
        workflow.logger.info("rung fired", extra={"kind": fired.kind.value, "at": fired.at.isoformat()})

    async def _reach(self, step: DrillStep) -> None:
        if step.after_rung is not None:
            kind = step.after_rung
            await workflow.wait_condition(lambda: any(fired.kind is kind for fired in self._timers.state.fired))
        if step.at is not None and step.at > self._now():
            await workflow.sleep(step.at - self._now())

    async def _apply(self, step: DrillStep) -> None:
        drill = self._drill
        if step.action is DrillAction.EXTEND:
            assert step.extension is not None
            change = await workflow.execute_activity_method(
                ClockActivities.apply_extension,
                DeadlineExtension(clock=drill.clock, extension=step.extension, profile=drill.profile),
                **policies.COMPUTE,
            )
        elif step.action is DrillAction.SUSPEND:
            drill.suspended_at = self._now()
            self._timers.suspend()
            return
        else:
            assert drill.suspended_at is not None
            pause = Pause(started_at=drill.suspended_at, ended_at=self._now())
            change = await workflow.execute_activity_method(
                ClockActivities.apply_suspension,
                DeadlineSuspension(clock=drill.clock, pause=pause, profile=drill.profile),
                **policies.COMPUTE,
            )
            drill.suspended_at = None
        drill.clock = change.clock
        drill.changes.append(change.explanation)
        self._timers.arm(change.schedule)
