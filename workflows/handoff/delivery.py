"""What the hand-off sends outside, for its shell: the push to the receiver (at most one at a time), the courtesy
SMS after it, and the notices to departments from the state's outbox, one by one after their transition is written,
retried until delivered. What became of each is a rule in `machine` (`pushed`, `delivery_failing`, ...), applied
in a transition of its own; this helper only awaits the activities and hands the shell the rules to apply.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from functools import partial

from temporalio import workflow
from temporalio.exceptions import ActivityError, CancelledError, RetryState

with workflow.unsafe.imports_passed_through():
    from activities.gateway.delivery import GatewayActivities
    from activities.notify.sms import SmsActivities
    from schemas.delivery import Push
    from schemas.handoff import HandoffStart, HandoffState
    from workflows import policies
    from workflows.handoff import machine
    from workflows.handoff.effects import Effects, Rules
    from workflows.handoff.writes import OwedWrites


class Deliveries:
    """The push, the SMS and the outbox of one run; the shell's transactions apply what became of them."""

    def __init__(
        self,
        start: HandoffStart,
        state: HandoffState,
        writes: OwedWrites,
        transaction: Callable[[], AbstractAsyncContextManager[None]],
        apply: Callable[[Rules], Awaitable[Effects]],
    ) -> None:
        self._start, self._state, self._writes = start, state, writes
        self._transaction, self._apply = transaction, apply
        self.pushing: asyncio.Task[None] | None = None
        # SMS run beside the push and are never cancelled: a courtesy that has been sent may as well be answered.
        self._texts: list[asyncio.Task[None]] = []
        self.stopping = False

    def push_due(self) -> bool:
        return self._state.push_pending and (self.pushing is None or self.pushing.done()) and not self.stopping

    def start_push(self) -> None:
        self.pushing = asyncio.create_task(self._push())

    def cancel_push(self) -> None:
        if self.pushing is not None and not self.pushing.done():
            self.pushing.cancel()

    def texted(self) -> bool:
        return all(text.done() for text in self._texts)

    async def _push(self) -> None:
        version = self._state.version
        push = machine.push_of(self._start, self._state, workflow.now())
        receiver = push.department_code
        policy = self._start.policy
        try:
            try:
                first_attempts = policies.delivery_until_alert(policy.delivery_attempts_before_alert)
                await workflow.execute_activity_method(GatewayActivities.deliver_push, push, **first_attempts)
            except ActivityError as error:
                if error.retry_state is not RetryState.MAXIMUM_ATTEMPTS_REACHED:
                    raise
                why = cause(error)
                if not await self._after_push(version, lambda change: machine.delivery_failing(change, receiver, why)):
                    return
                await workflow.execute_activity_method(
                    GatewayActivities.deliver_push, push, **policies.DEPARTMENT_DELIVERY
                )
        except ActivityError as error:
            if isinstance(error.cause, CancelledError):
                return  # rerouted, terminated or continuing as new: whoever cancelled it owns what follows
            why = cause(error)
            await self._after_push(version, lambda change: machine.delivery_failed(change, receiver, why))
            return
        if await self._after_push(version, lambda change: machine.pushed(change, receiver)):
            self._texts.append(asyncio.create_task(self._send_sms(push)))

    async def _after_push(self, version: int, rules: Rules) -> bool:
        """Applies what became of the push of `version`, unless it was rerouted or the loop ended meanwhile."""
        async with self._transaction():
            if not machine.still_routed(self._state, version):
                return False
            await self._apply(rules)
            return True

    async def _send_sms(self, push: Push) -> None:
        notification = machine.sms_of(self._start, self._state, push)
        try:
            await workflow.execute_activity_method(
                SmsActivities.send_sms, notification, **policies.courtesy_sms(self._start.policy.sms_attempts)
            )
        except ActivityError as error:
            why = cause(error)
            async with self._transaction():
                await self._apply(lambda change: machine.sms_not_sent(change, why))

    async def deliver_outbox(self) -> None:
        while True:
            await workflow.wait_condition(self._notice_due)
            push = self._state.outbox[0]
            try:
                await workflow.execute_activity_method(
                    GatewayActivities.deliver_push, push, **policies.DEPARTMENT_DELIVERY
                )
            except ActivityError as error:
                if isinstance(error.cause, CancelledError):
                    return  # continuing as new: the notice stays in the outbox for the next run
                why = cause(error)
                async with self._transaction():
                    await self._apply(partial(machine.notice_undelivered, push=push, why=why))
            self._state.outbox.pop(0)

    def _notice_due(self) -> bool:
        """A notice waits for the end of the transaction that queued it, so it goes out after its transition is
        written (runs before ONE_WRITE_PATCH wrote it before queueing the notice)."""
        return bool(self._state.outbox) and not self._writes.in_transaction()


def cause(error: ActivityError) -> str:
    """What went wrong, in words, for the logs and the audit trail."""
    failure = error.cause
    return str(failure) if failure is not None else str(error)
