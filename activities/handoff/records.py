"""The hand-off's store activity: every write a transition owes (audit entries with the read model, orders,
cards, scores), in one call, and the domain metrics they make, as the case's store activity does.

Each write is keyed (audit sequence, order entry, card, score event), so a retried call writes nothing twice and
counts nothing twice: a command, an escalation and a loop time are counted by the call that wrote their entry.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities.loop_metrics import LoopMetrics
from activities.metrics import COMMANDS
from activities.service_errors import as_application_errors
from activities.store.group_commit import GroupCommit, one_by_one
from schemas.handoff import HandoffWrites, HandoffWritesRecorded
from schemas.ledger import CardIssue
from services.ledger import Ledger


class HandoffStoreActivities:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._metrics = LoopMetrics(ledger)
        self._units = GroupCommit(ledger.unit_of_work, one_by_one(self._write_unit))

    async def _write_unit(self, session: AsyncSession, batch: HandoffWrites) -> tuple[list[bool], list[CardIssue]]:
        """One hand-off's entries, orders, cards and scores, in the unit of work `session`."""
        ledger = self._ledger
        transitions = [write.transition for write in batch.writes if write.transition is not None]
        cards = [write.card for write in batch.writes if write.card is not None]
        scores = [write.score for write in batch.writes if write.score is not None]
        written = await ledger.record_handoff_transitions(transitions, session)
        for write in batch.writes:
            if write.order is not None:
                await ledger.record_supervision_order(write.order, session)
        issued, _ = await ledger.record_cards_and_scores(cards, scores, session)
        return written, issued

    @activity.defn(name="handoff_record_writes")
    async def record_writes(self, batch: HandoffWrites) -> HandoffWritesRecorded:
        with as_application_errors():
            return await self._record(batch)

    async def _record(self, batch: HandoffWrites) -> HandoffWritesRecorded:
        # One unit of work for the batch's entries, orders, cards and scores, as the case's store write: all or
        # nothing, the entries in one INSERT and the read model written once, not read back. Hand-offs that record
        # side by side (a nightly batch of approval results) share a transaction, each still all or nothing.
        transitions = [write.transition for write in batch.writes if write.transition is not None]
        written, issued = await self._units.record(batch)
        entries = sum(written)
        for transition, wrote in zip(transitions, written, strict=True):
            if wrote:
                await self._metrics.handoff_transition(transition.entry, transition.handoff)
        for card in issued:
            await self._metrics.card_issued(card.department_code, card.level.value)
        # A retry finds the entries written already: what it would count was counted by the call that wrote them.
        if entries or not any(write.transition is not None for write in batch.writes):
            for command in batch.commands:
                COMMANDS.labels(workflow="handoff", command=command).inc()
            for escalation in batch.escalations:
                await self._metrics.escalated(escalation.department, escalation.rung.value)
        return HandoffWritesRecorded(written=len(batch.writes), entries=entries)
