"""SLA timers a workflow embeds: durable timers for the card rungs of one deadline, each rung fired once.

The rung instants come from the `schedule_rungs`, `apply_extension` or `apply_suspension` activities; nothing here
reads a calendar. A workflow owns one `SlaClock` per deadline it watches, keeps `SlaClock.state` in its own
state (it survives continue-as-new) and runs `SlaClock.run()` as a task beside its main loop.

Rules:
- every arming is a new deadline version; each rung fires at most once per version, in instant order;
- when the deadline moves (`arm` again), rungs still ahead are re-armed and fire again at their new instants,
  even if they fired for an earlier version (an extension approved after yellow gives a second yellow);
- a rung whose new instant has already passed is not repeated if a rung of its kind fired before (CARRIED); one
  that never fired fires at once (it was missed, not repeated);
- while suspended nothing fires; the owner arms the moved deadline when it resumes.

A workflow with several clocks may give them one `Alarm`: then the clocks arm no timers of their own, and the alarm
keeps one durable timer to the earliest rung any of them waits for. A step that stops one clock of several, or
arms one whose rung is later, leaves the history as it was; only a change of the earliest instant cancels and
starts the timer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.clock import ArmedRung, FiredRung, RungSchedule, RungStatus, SlaClockState


class Alarm:
    """One durable timer for every clock that shares it, to the earliest rung still ahead among them.

    The alarm only wakes the workflow: each clock fires its own rung once `now` reaches it, in the order the clocks
    began to wait (deterministic, as the timers of one instant were)."""

    def __init__(self, now: Callable[[], datetime] = workflow.now) -> None:
        self._now = now
        self._clocks: list[SlaClock] = []
        self._closed = False

    def add(self, clock: SlaClock) -> None:
        self._clocks.append(clock)

    def remove(self, clock: SlaClock) -> None:
        if clock in self._clocks:
            self._clocks.remove(clock)

    def close(self) -> None:
        self._closed = True

    def _earliest(self) -> ArmedRung | None:
        """The earliest rung still ahead; one already due is its clock's to fire, and needs no timer."""
        now = self._now()
        ahead = [rung for clock in self._clocks for rung in clock.pending() if rung.at > now]
        return min(ahead, key=lambda rung: rung.at, default=None)

    def _moved(self, at: datetime | None) -> bool:
        earliest = self._earliest()
        return self._closed or (earliest.at if earliest is not None else None) != at

    async def run(self) -> None:
        while not self._closed:
            rung = self._earliest()
            if rung is None:
                await workflow.wait_condition(partial(self._moved, None))
                continue
            try:
                await workflow.wait_condition(
                    partial(self._moved, rung.at),
                    timeout=rung.at - self._now(),
                    timeout_summary=f"{rung.kind.value} at {rung.at.isoformat()}",
                )
            except TimeoutError:
                pass  # the instant came: the clocks whose rung it is see it themselves


class SlaClock:
    """Fires `on_rung` for each rung of the armed deadline when its instant comes."""

    def __init__(
        self,
        state: SlaClockState,
        on_rung: Callable[[FiredRung], Awaitable[None]],
        now: Callable[[], datetime] = workflow.now,
        alarm: Alarm | None = None,
    ) -> None:
        """`now` is workflow.now unless a workflow replays a scenario on a shifted clock (tests do); with an `alarm`
        the clock starts no timer of its own (the alarm must count on the same `now`)."""
        self._state = state
        self._on_rung = on_rung
        self._now = now
        self._alarm = alarm
        self._changed = False
        self._closed = False
        if alarm is not None:
            alarm.add(self)

    @property
    def state(self) -> SlaClockState:
        return self._state

    @property
    def settled(self) -> bool:
        """Nothing left to fire for the armed deadline (or the clock is stopped)."""
        if self._state.stopped:
            return True
        return not any(rung.status is RungStatus.PENDING for rung in self._state.rungs)

    def arm(self, schedule: RungSchedule) -> None:
        """Arms a new deadline version; ends a suspension."""
        now = self._now()
        fired_kinds = {fired.kind for fired in self._state.fired}
        self._state.deadline_version += 1
        self._state.due_at = schedule.deadline.due_at
        self._state.rungs = [
            ArmedRung(
                kind=rung.kind,
                at=rung.at,
                status=RungStatus.CARRIED if rung.at <= now and rung.kind in fired_kinds else RungStatus.PENDING,
            )
            for rung in schedule.rungs
        ]
        self._state.suspended = False
        self._state.stopped = False
        self._wake()

    def suspend(self) -> None:
        """Holds every rung until the owner arms the deadline moved by the pause."""
        self._state.suspended = True
        self._wake()

    def stop(self) -> None:
        """The deadline no longer matters (the step is done): nothing more fires until armed again."""
        self._state.stopped = True
        self._wake()

    def close(self) -> None:
        """Lets `run` return, state untouched, before the owner continues as new or completes."""
        self._closed = True
        if self._alarm is not None:
            self._alarm.remove(self)
        self._wake()

    def _wake(self) -> None:
        self._changed = True

    def _reached(self, instant: datetime) -> bool:
        """`instant` has come, or the clock changed before it did."""
        return self._changed or self._now() >= instant

    def pending(self) -> list[ArmedRung]:
        """The rungs still to fire: none while suspended, stopped or closed."""
        if self._state.suspended or self._state.stopped or self._closed:
            return []
        return [rung for rung in self._state.rungs if rung.status is RungStatus.PENDING]

    def next_pending(self) -> ArmedRung | None:
        """The rung the clock waits for."""
        return min(self.pending(), key=lambda rung: rung.at, default=None)

    async def run(self) -> None:
        while not self._closed:
            self._changed = False
            rung = self.next_pending()
            if rung is None:
                await workflow.wait_condition(lambda: self._changed)
                continue
            if self._alarm is not None:
                await workflow.wait_condition(partial(self._reached, rung.at))
                if self._changed:
                    continue  # re-armed, suspended, stopped or closed: look again
                await self._fire(rung)
                continue
            delay = rung.at - self._now()
            if delay > timedelta(0):
                try:
                    await workflow.wait_condition(
                        lambda: self._changed,
                        timeout=delay,
                        timeout_summary=f"{rung.kind.value} at {rung.at.isoformat()}",
                    )
                    continue  # re-armed, suspended, stopped or closed: look again
                except TimeoutError:
                    if self._changed:  # a change landed in the same activation as the timer: look again
                        continue
            await self._fire(rung)

    async def _fire(self, rung: ArmedRung) -> None:
        # Marked before the callback runs, so a continue-as-new after it can never fire the rung twice.
        rung.status = RungStatus.FIRED
        assert self._state.due_at is not None
        fired = FiredRung(
            kind=rung.kind,
            at=rung.at,
            fired_at=self._now(),
            deadline_version=self._state.deadline_version,
            due_at=self._state.due_at,
        )
        self._state.fired.append(fired)
        await self._on_rung(fired)
