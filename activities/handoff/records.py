"""The hand-off's store activity: every write a transition owes (audit entries with the read model, orders,
cards, scores), in one call, and the domain metrics they make, as the case's store activity does.

Each write is keyed (audit sequence, order entry, card, score event), so a retried call writes nothing twice and
counts nothing twice: a command, an escalation and a loop time are counted by the call that wrote their entry.
"""

from __future__ import annotations

from temporalio import activity

from activities.loop_metrics import LoopMetrics
from activities.metrics import COMMANDS
from activities.service_errors import as_application_errors
from schemas.handoff import HandoffWrites, HandoffWritesRecorded
from services.ledger import Ledger


class HandoffStoreActivities:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._metrics = LoopMetrics(ledger)

    @activity.defn(name="handoff_record_writes")
    async def record_writes(self, batch: HandoffWrites) -> HandoffWritesRecorded:
        with as_application_errors():
            return await self._record(batch)

    async def _record(self, batch: HandoffWrites) -> HandoffWritesRecorded:
        entries = 0
        for write in batch.writes:
            if write.transition is not None:
                view = await self._ledger.record_handoff_transition(write.transition)
                entries += view.applied
                if view.applied:
                    await self._metrics.handoff_transition(write.transition.entry, write.transition.handoff)
            elif write.order is not None:
                await self._ledger.record_supervision_order(write.order)
            elif write.card is not None:
                card = write.card
                if (await self._ledger.record_card(card)).recorded:
                    await self._metrics.card_issued(card.department_code, card.level.value)
            elif write.score is not None:
                await self._ledger.record_score_event(write.score)
        # A retry finds the entries written already: what it would count was counted by the call that wrote them.
        if entries or not any(write.transition is not None for write in batch.writes):
            for command in batch.commands:
                COMMANDS.labels(workflow="handoff", command=command).inc()
            for escalation in batch.escalations:
                await self._metrics.escalated(escalation.department, escalation.rung.value)
        return HandoffWritesRecorded(written=len(batch.writes), entries=entries)
