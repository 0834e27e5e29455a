"""The store writes a hand-off owes, oldest first, and how they reach the store: one store activity per transition
as it ends (HandoffStoreActivities.record_writes, which also counts the metrics), or, on runs begun before
ONE_WRITE_PATCH, one ledger activity per write at once, in their order.

A write the store does not take stays owed in the state and is retried in the background (and before the next
write), so an outage never fails a command, never leaves a gap in the audit sequence, and never ends an SLA clock.
Every write is keyed (audit sequence, card, order entry, score event), so one the store took before its answer was
lost is taken again without a second row.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError
from temporalio.workflow import ActivityConfig

with workflow.unsafe.imports_passed_through():
    from activities.handoff.records import HandoffStoreActivities
    from activities.ledger import LedgerActivities
    from schemas.handoff import WRITES_PER_CALL, HandoffStart, HandoffState, HandoffWrites, StoreWrite
    from workflows import policies

# Runs begun before this marker call one ledger activity per store write, in their order; from it on, a run writes
# every transition's writes in one store activity, which counts the metrics.
ONE_WRITE_PATCH = "handoff-one-store-write-per-transition"
# Lean transitions (bench/README.md, issue 13), as the case's: the legal clock and the registry lookups run as local
# activities (a marker each instead of three activity events and a workflow task, no round trip through the server).
# A run begun after it takes every earlier patch's path without asking for their markers: one patch for all of it,
# as each patch costs every new hand-off a marker and a search-attribute upsert. Asked first thing in a run.
LEAN_PATCH = "handoff-lean-transitions"


def lean() -> bool:
    """This run began with lean transitions (LEAN_PATCH): it takes every earlier patch's path too."""
    return workflow.patched(LEAN_PATCH)


class OwedWrites:
    """The owed writes of one run of one hand-off; the shell's lock keeps a transaction and the retry apart."""

    def __init__(self, start: HandoffStart, state: HandoffState, lock: asyncio.Lock) -> None:
        self._start = start
        self._state = state
        self._lock = lock
        self.flushing = False  # a store write is on its way: the background retry keeps out of it
        self.one_per_transition: bool | None = None  # decided at the run's first write

    async def record(self, write: StoreWrite) -> None:
        """Queues a store write behind any the store has not taken yet; runs begun before ONE_WRITE_PATCH write it
        at once, one call a write."""
        outage = bool(self._state.unrecorded)
        self._state.unrecorded.append(write)
        if self.one_per_transition is None:
            self.one_per_transition = lean() or workflow.patched(ONE_WRITE_PATCH)
        if not self.one_per_transition:
            await self.flush(policies.STORE_WRITE_ONCE if outage else policies.STORE_WRITE)

    async def transaction_ended(self, owed_before: bool) -> None:
        """The transaction's writes, and any owed from before it, in one call (tried once more if already owed)."""
        if self.one_per_transition and self._state.unrecorded and not self.flushing:
            await self.flush(policies.STORE_WRITE_ONCE if owed_before else policies.STORE_WRITE)

    def in_transaction(self) -> bool:
        """A transaction is under way that writes its own as it ends (runs before ONE_WRITE_PATCH wrote at once)."""
        return bool(self.one_per_transition) and self._lock.locked()

    async def flush(self, config: ActivityConfig) -> None:
        """Writes the owed writes oldest first; the first the store does not take stops it, kept with the rest."""
        self.flushing = True
        try:
            if self.one_per_transition:
                await self._at_once(config)
            else:
                await self._one_by_one(config)
        finally:
            self.flushing = False

    async def _one_by_one(self, config: ActivityConfig) -> None:
        state = self._state
        while state.unrecorded:
            write = state.unrecorded[0]
            try:
                if write.transition is not None:
                    await workflow.execute_activity_method(
                        LedgerActivities.record_handoff_transition, write.transition, **config
                    )
                elif write.order is not None:
                    await workflow.execute_activity_method(
                        LedgerActivities.record_supervision_order, write.order, **config
                    )
                elif write.card is not None:
                    await workflow.execute_activity_method(LedgerActivities.record_card, write.card, **config)
                elif write.score is not None:
                    await workflow.execute_activity_method(LedgerActivities.record_score_event, write.score, **config)
            except ActivityError as error:
                workflow.logger.error("hand-off store write kept (%d owed): %s", len(state.unrecorded), error.cause)
                return
            state.unrecorded.pop(0)

    async def _at_once(self, config: ActivityConfig) -> None:
        """The owed writes in as few store calls as their number allows, with the commands and rungs to count."""
        state = self._state
        while state.unrecorded:
            writes = state.unrecorded[:WRITES_PER_CALL]
            batch = HandoffWrites(
                handoff_id=self._start.handoff_id,
                writes=writes,
                commands=list(state.uncounted_commands),
                escalations=list(state.uncounted_escalations),
            )
            try:
                await workflow.execute_activity_method(HandoffStoreActivities.record_writes, batch, **config)
            except ActivityError as error:
                workflow.logger.error("hand-off store writes kept (%d owed): %s", len(state.unrecorded), error.cause)
                return
            del state.unrecorded[: len(writes)]
            state.uncounted_commands.clear()
            state.uncounted_escalations.clear()

    async def catch_up(self) -> None:
        """Retries the owed writes in the background, so the store catches up without waiting for a transition.
        It waits without a command until a write is owed, so histories from before it replay unchanged."""
        policy = self._start.policy
        pause = policy.store_retry
        while True:
            await workflow.wait_condition(self._owed_and_idle)
            await workflow.sleep(pause, summary="owed store writes retried")
            async with self._lock:
                await self.flush(policies.STORE_WRITE)
            pause = min(pause * 2, policy.store_retry_longest) if self._state.unrecorded else policy.store_retry

    def _owed_and_idle(self) -> bool:
        """Writes are owed and nobody is writing them: a transaction under way writes its own as it ends."""
        return bool(self._state.unrecorded) and not self.flushing and not self.in_transaction()
