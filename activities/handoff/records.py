"""The hand-off's store activity: every write a transition owes (audit entries with the read model, orders,
cards, scores), in one call, and the domain metrics they make, as the case's store activity does.

Each write is keyed (audit sequence, order entry, card, score event), so a retried call writes nothing twice and
counts nothing twice: a command, an escalation and a loop time are counted by the call that wrote their entry.
"""

from __future__ import annotations

from temporalio import activity

from activities.metrics import CARDS_ISSUED, COMMANDS, ESCALATIONS, LOOP_SECONDS
from activities.service_errors import as_application_errors
from schemas.handoff import HandoffStage, HandoffWrites, HandoffWritesRecorded
from services.ledger import Ledger

_CLOSED = HandoffStage.LOOP_CLOSED.value


class HandoffStoreActivities:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

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
                entry, handoff = write.transition.entry, write.transition.handoff
                if view.applied and entry.to_stage == _CLOSED and entry.from_stage != _CLOSED:
                    began = handoff.pushed_at or handoff.created_at
                    LOOP_SECONDS.labels(kind="handoff").observe((entry.at - began).total_seconds())
            elif write.order is not None:
                await self._ledger.record_supervision_order(write.order)
            elif write.card is not None:
                card = write.card
                if (await self._ledger.record_card(card)).recorded:
                    CARDS_ISSUED.labels(department=card.department_code, colour=card.level.value).inc()
            elif write.score is not None:
                await self._ledger.record_score_event(write.score)
        # A retry finds the entries written already: what it would count was counted by the call that wrote them.
        if entries or not any(write.transition is not None for write in batch.writes):
            for command in batch.commands:
                COMMANDS.labels(workflow="handoff", command=command).inc()
            for escalation in batch.escalations:
                ESCALATIONS.labels(department=escalation.department, rung=escalation.rung.value).inc()
        return HandoffWritesRecorded(written=len(batch.writes), entries=entries)
