"""How the hand-off's shell carries out a transition: the rules change the state through a `Change`, then its
effects are carried out in their order (clocks counted and armed or stopped, store writes queued, notices queued
in the outbox, the Temporal UI told). The shell holds the lock around it; what a rung or a command needs from
outside first is `asks`'s.
"""

from __future__ import annotations

import asyncio
from itertools import takewhile
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas import search_attributes as sa
    from schemas.case.records import ClockPlanItem, ClockPlanRequest, ClockPlanResult
    from schemas.clock import RungSchedule
    from schemas.handoff import HandoffClock, HandoffStart, HandoffState, StoreWrite
    from workflows.handoff import asks, presentation, records
    from workflows.handoff.effects import (
        Arm,
        Change,
        Effects,
        Rules,
        Step,
        Stop,
        Transition,
        Window,
        clock_step,
        clocks_ahead,
        counted,
    )
    from workflows.handoff.writes import OwedWrites, lean
    from workflows.sla import SlaClock
    from workflows.snapshot import detached_copy

_UNPUBLISHED = object()

# Runs that began before these changes replay as they ran; from each marker on, a run takes the new path.
PARTIES_PATCH = "handoff-parties-search-attribute"  # CaseloopParties upserted
CLOCKS_PATCH = "handoff-push-act-and-order-clocks"  # the matter's push and act limits, and an order's own clock
# CaseloopCardColour holds the most severe card, as for cases, and CaseloopSlaColour the SLA colour.
SLA_COLOUR_PATCH = "handoff-card-colour-means-cards"


class Transitions:
    """The transitions of one run of one hand-off, carried out in order."""

    def __init__(
        self,
        start: HandoffStart,
        state: HandoffState,
        writes: OwedWrites,
        clocks: dict[HandoffClock, SlaClock],
        carried: bool,
    ) -> None:
        self._start, self._state, self._writes, self._clocks = start, state, writes, clocks
        # What the Temporal UI holds: nothing for a new hand-off; after continue-as-new, unknown (so all is sent).
        self._published: dict[str, Any] = {} if carried else {key.name: None for key in sa.ALL}

    async def apply(self, rules: Rules) -> Effects:
        now = workflow.now()
        ahead = 0
        if self._writes.one_per_transition:
            # The clocks are counted on a preview before the state moves, so nobody reads a stage without its
            # deadlines (runs before ONE_WRITE_PATCH count them in their turn).
            preview = Change(self._start, detached_copy(self._state), now)
            rules(preview)
            ahead = clocks_ahead(preview.effects.steps)
            await self._carry_out([step for step in preview.effects.steps[:ahead] if clock_step(step)])
        change = Change(self._start, self._state, now)
        rules(change)
        steps = change.effects.steps
        await self._carry_out([step for step in steps[:ahead] if not clock_step(step)] + steps[ahead:])
        if self._writes.one_per_transition:
            self._state.uncounted_escalations.extend(change.effects.escalations)
        return change.effects

    async def _carry_out(self, steps: list[Step]) -> None:
        """Clocks next to each other are counted together (in a lean run all the steps' clocks in one plan, on one
        load of the calendar); a transition's entry shows in the Temporal UI at once."""
        planned = await self._plan(steps) if lean() else None
        index = 0
        while index < len(steps):
            step = steps[index]
            if planned is not None and isinstance(step, Arm | Window):
                self._counted(step, planned[index])
                index += 1
                continue
            if isinstance(step, Arm | Window):
                together = [later for later in takewhile(counted, steps[index:]) if isinstance(later, Arm | Window)]
                if len(together) == 1:
                    await self._count(together[0])
                else:
                    await asyncio.gather(*(self._count(each) for each in together))
                index += len(together)
                continue
            if isinstance(step, Stop):
                self._clocks[step.clock].stop()
            elif isinstance(step, Transition):
                await self._writes.record(records.transition(self._start, self._state, step))
                self.publish()
            elif isinstance(step, StoreWrite):
                await self._writes.record(step)
            else:
                self._state.outbox.append(step)
            index += 1

    async def _plan(self, steps: list[Step]) -> dict[int, ClockPlanResult]:
        """Every clock of `steps` counted in one local activity, by the step's index."""
        items = [
            ClockPlanItem(key=str(index), window=step.spec)
            if isinstance(step, Window)
            else ClockPlanItem(key=str(index), schedule=step.request)
            for index, step in enumerate(steps)
            if isinstance(step, Arm | Window)
        ]
        if not items:
            return {}
        plan = await asks.plan(self._start, ClockPlanRequest(items=items))
        return {int(result.key): result for result in plan.results}

    def _counted(self, step: Arm | Window, result: ClockPlanResult) -> None:
        if isinstance(step, Window):
            assert result.deadline is not None  # asked as a window
            self._state.return_until = result.deadline.due_at
            return
        assert result.schedule is not None  # asked as a schedule
        self._armed(step, result.schedule)

    def _armed(self, step: Arm, schedule: RungSchedule) -> None:
        if step.clock in self._state.breached:
            self._state.breached.remove(step.clock)
        self._clocks[step.clock].arm(schedule)

    async def _count(self, step: Arm | Window) -> None:
        if isinstance(step, Window):
            self._state.return_until = await asks.deadline(self._start, step.spec)
            return
        if step.gated and not (lean() or workflow.patched(CLOCKS_PATCH)):
            return
        self._armed(step, await asks.schedule(self._start, step.request))

    def publish(self) -> None:
        """Search attributes and current details; unchanged values are not upserted again."""
        wanted = presentation.search_attributes(
            self._start,
            self._state,
            with_parties=lean() or workflow.patched(PARTIES_PATCH),
            colours_apart=lean() or workflow.patched(SLA_COLOUR_PATCH),
        )
        changed = [
            key.value_set(value) if value is not None else key.value_unset()
            for key, value in wanted.items()
            if self._published.get(key.name, _UNPUBLISHED) != value
        ]
        if changed:
            workflow.upsert_search_attributes(changed)
            self._published.update({key.name: value for key, value in wanted.items()})
        workflow.set_current_details(presentation.details(self._start, self._state))
